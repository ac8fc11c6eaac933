// Relational knowledge distillation (Park et al. 2019) from Gram matrices: the pair and triplet
// loops of the distance-wise and angle-wise losses. Swift builds the Gram matrices and takes dG
// back through one matrix product; these loops are all that is left, and they run per gradient
// step, so they live here without bounds checks. Portable C (no intrinsics); same bits on every
// instruction set because -ffp-contract=off forbids fused multiply-adds the compiler might pick.
#include "ckernels.h"
#include <math.h>
#include <stdlib.h>

static inline float huber(float d) { float a = fabsf(d); return a < 1 ? 0.5f * d * d : a - 0.5f; }
static inline float huber_grad(float d) { return fabsf(d) < 1 ? d : (d > 0 ? 1.0f : -1.0f); }
static inline float dist(const float *g, int n, int i, int j) {
    float v = g[i * n + i] + g[j * n + j] - 2 * g[i * n + j];
    return v > 0 ? sqrtf(v) : 0;
}

float sd_rkd_distance(const float *restrict gs, const float *restrict gt, int n, float scale, float *restrict dG, float *restrict work) {
    int pairs = n * (n - 1) / 2;
    if (pairs <= 0) return 0;
    // work (3n² + 3n floats): student and teacher distances and dL/dψ for i < j (row i holds
    // j > i), then the Gram diagonals and the column sums of the gradient. Every inner loop
    // runs along a row, so it vectorises; the sums in it may run in vector lanes (fixed at
    // compile time, so the same bits on every run).
    float *restrict ds = work, *restrict dt = ds + n * n, *restrict g = dt + n * n;
    float *restrict diagS = g + n * n, *restrict diagT = diagS + n, *restrict column = diagT + n;
    for (int i = 0; i < n; i++) { diagS[i] = gs[i * n + i]; diagT[i] = gt[i * n + i]; column[i] = 0; }
    float sumS = 0, sumT = 0;
    for (int i = 0; i < n; i++) {
        const float *restrict gsi = gs + i * n, *restrict gti = gt + i * n;
        float *restrict dsi = ds + i * n, *restrict dti = dt + i * n;
        for (int j = i + 1; j < n; j++) {
#pragma clang fp reassociate(on)
            float vs = diagS[i] + diagS[j] - 2 * gsi[j], vt = diagT[i] + diagT[j] - 2 * gti[j];
            float s = vs > 0 ? sqrtf(vs) : 0, t = vt > 0 ? sqrtf(vt) : 0;
            dsi[j] = s;
            dti[j] = t;
            sumS += s;
            sumT += t;
        }
    }
    float muS = sumS / (float)pairs, muT = sumT / (float)pairs;
    if (!(muS > 0) || !(muT > 0)) return 0;
    float invMuS = 1 / muS, invMuT = 1 / muT, invPairs = 1 / (float)pairs;
    float value = 0, weighted = 0;
    for (int i = 0; i < n; i++) {
        const float *restrict dsi = ds + i * n, *restrict dti = dt + i * n;
        float *restrict gi = g + i * n;
        for (int j = i + 1; j < n; j++) {
#pragma clang fp reassociate(on)
            float diff = dsi[j] * invMuS - dti[j] * invMuT;
            value += huber(diff);
            float gij = huber_grad(diff) * invPairs;
            gi[j] = gij;
            weighted += gij * dsi[j];
        }
    }
    // ψ = D / μ with μ = ΣD / P: dL/dD = g / μ − (Σ g D) / (μ² P); D = √(G_ii + G_jj − 2 G_ij)
    // gives dG_ii, dG_jj += h and dG_ij −= 2h with h = dL/dD / (2D) (0 where D = 0).
    float shift = weighted * invMuS * invMuS * invPairs;
    for (int i = 0; i < n; i++) {
        const float *restrict dsi = ds + i * n, *restrict gi = g + i * n;
        float *restrict dGi = dG + i * n;
        float diagonal = 0;
        for (int j = i + 1; j < n; j++) {
#pragma clang fp reassociate(on)
            float d = dsi[j];
            float h = d > 0 ? scale * (gi[j] * invMuS - shift) / (2 * d) : 0;
            diagonal += h;
            column[j] += h;
            dGi[j] -= 2 * h;
        }
        dG[i * n + i] += diagonal;
    }
    for (int i = 0; i < n; i++) dG[i * n + i] += column[i];
    return value * invPairs;
}

float sd_rkd_angle(const float *restrict gs, const float *restrict gt, int n, int m, float scale, float *restrict dG, float *restrict work) {
    long triplets = (long)m * (m - 1) * (m - 2);
    if (triplets <= 0) return 0;
    // work: the reciprocals of the student's and the teacher's distances among the first m
    // rows (m*m each; 0 where a distance is 0, which switches its triplets off), then 2m floats.
    float *restrict is = work, *restrict it = work + m * m;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            float s = i == j ? 0 : dist(gs, n, i, j), t = i == j ? 0 : dist(gt, n, i, j);
            is[i * m + j] = s > 0 ? 1 / s : 0;
            it[i * m + j] = t > 0 ? 1 / t : 0;
        }
    float value = 0;
    float perTriplet = 2 * scale / (float)triplets;  // the cosine at j is symmetric in i and k: both orders at once
    // Per j, the k-indexed contributions to dG[k][j] and dG[k][k] gather in contiguous rows
    // (work + 2m², 2m floats) so the k loop has no branches and vectorises; a zero reciprocal
    // (k == j, or a zero distance) masks a triplet out.
    float *restrict colKJ = work + 2 * m * m, *restrict diagK = colKJ + m;
    for (int j = 0; j < m; j++) {
        float sjj = gs[j * n + j], tjj = gt[j * n + j];
        for (int k = 0; k < m; k++) { colKJ[k] = 0; diagK[k] = 0; }
        for (int i = 0; i < m; i++) {
            float iij = is[i * m + j];
            if (i == j || iij == 0) continue;
            float tij = it[i * m + j], sij = gs[i * n + j], tgij = gt[i * n + j];
            float accIJ = 0, accJJ = 0, hIJ = 0, sum = 0;
            // Gram matrices and distances are symmetric, so every k-indexed read is a contiguous row.
            const float *restrict gsi = gs + i * n, *restrict gti = gt + i * n, *restrict gsj = gs + j * n, *restrict gtj = gt + j * n;
            const float *restrict isj = is + j * m, *restrict itj = it + j * m;
            float *restrict dGi = dG + i * n;
            for (int k = i + 1; k < m; k++) {
#pragma clang fp reassociate(on)  // the sums over k may run in vector lanes (fixed at compile time: same bits on every run)
                float ikj = isj[k];
                float mask = ikj != 0 ? 1.0f : 0.0f;
                float cosS = (gsi[k] - sij - gsj[k] + sjj) * iij * ikj;
                float cosT = (gti[k] - tgij - gtj[k] + tjj) * tij * itj[k];  // 0 for a zero teacher distance
                float diff = (cosS - cosT) * mask;
                sum += huber(diff);
                float g = huber_grad(diff) * perTriplet;
                // cos = P / (D_ij D_kj): dP = g / (D_ij D_kj), dD_ij = −g cos / D_ij, dD_kj = −g cos / D_kj,
                // and dD into dG through D = √(G_ii + G_jj − 2 G_ij): h = dD / (2 D).
                float dP = g * iij * ikj;
                float hij = -0.5f * g * cosS * iij * iij, hkj = -0.5f * g * cosS * ikj * ikj;
                dGi[k] += dP;
                colKJ[k] -= dP + 2 * hkj;
                diagK[k] += hkj;
                accIJ -= dP;
                hIJ += hij;
                accJJ += dP + hij + hkj;
            }
            value += 2 * sum;
            dG[i * n + j] += accIJ - 2 * hIJ;
            dG[i * n + i] += hIJ;
            dG[j * n + j] += accJJ;
        }
        for (int k = 0; k < m; k++) { dG[k * n + j] += colKJ[k]; dG[k * n + k] += diagK[k]; }
    }
    return value / (float)triplets;
}

void sd_symmetrize(float *a, int n) {
    for (int i = 0; i < n; i++) {
        a[i * n + i] *= 2;
        for (int j = i + 1; j < n; j++) {
            float s = a[i * n + j] + a[j * n + i];
            a[i * n + j] = s;
            a[j * n + i] = s;
        }
    }
}
