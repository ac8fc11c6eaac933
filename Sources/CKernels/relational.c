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

float sd_rkd_distance(const float *gs, const float *gt, int n, float scale, float *dG, float *work) {
    int pairs = n * (n - 1) / 2;
    if (pairs <= 0) return 0;
    // work: n*n floats: student distances for i < j in the upper triangle, teacher's in the lower.
    float sumS = 0, sumT = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            float s = dist(gs, n, i, j), t = dist(gt, n, i, j);
            work[i * n + j] = s;
            work[j * n + i] = t;
            sumS += s;
            sumT += t;
        }
    float muS = sumS / (float)pairs, muT = sumT / (float)pairs;
    if (!(muS > 0) || !(muT > 0)) return 0;
    float invMuS = 1 / muS, invMuT = 1 / muT, invPairs = 1 / (float)pairs;
    float value = 0, weighted = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            float d = work[i * n + j];
            float diff = d * invMuS - work[j * n + i] * invMuT;
            value += huber(diff);
            float g = huber_grad(diff) * invPairs;
            work[j * n + i] = g;  // the teacher's distance is no longer needed
            weighted += g * d;
        }
    // ψ = D / μ with μ = ΣD / P: dL/dD = g / μ − (Σ g D) / (μ² P); D = √(G_ii + G_jj − 2 G_ij).
    float shift = weighted * invMuS * invMuS * invPairs;
    for (int i = 0; i < n; i++) {
        float diagonal = 0;
        for (int j = i + 1; j < n; j++) {
            float d = work[i * n + j];
            if (!(d > 0)) continue;
            float h = scale * (work[j * n + i] * invMuS - shift) / (2 * d);
            diagonal += h;
            dG[j * n + j] += h;
            dG[i * n + j] -= 2 * h;
        }
        dG[i * n + i] += diagonal;
    }
    return value * invPairs;
}

float sd_rkd_angle(const float *gs, const float *gt, int n, int m, float scale, float *dG, float *work) {
    long triplets = (long)m * (m - 1) * (m - 2);
    if (triplets <= 0) return 0;
    // work: m*m student distances then m*m teacher distances, full (both orders).
    float *ds = work, *dt = work + m * m;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            ds[i * m + j] = i == j ? 0 : dist(gs, n, i, j);
            dt[i * m + j] = i == j ? 0 : dist(gt, n, i, j);
        }
    float value = 0;
    float perTriplet = 2 * scale / (float)triplets;  // the cosine at j is symmetric in i and k: both orders at once
    for (int j = 0; j < m; j++) {
        float sjj = gs[j * n + j], tjj = gt[j * n + j];
        for (int i = 0; i < m; i++) {
            if (i == j) continue;
            float dij = ds[i * m + j], tij = dt[i * m + j];
            if (!(dij > 0)) continue;
            float sij = gs[i * n + j], tgij = gt[i * n + j];
            float accIJ = 0, accJJ = 0, hIJ = 0;
            for (int k = i + 1; k < m; k++) {
                if (k == j) continue;
                float dkj = ds[k * m + j];
                if (!(dkj > 0)) continue;
                float cosS = (gs[i * n + k] - sij - gs[k * n + j] + sjj) / (dij * dkj);
                float tkj = dt[k * m + j];
                float cosT = tij > 0 && tkj > 0 ? (gt[i * n + k] - tgij - gt[k * n + j] + tjj) / (tij * tkj) : 0;
                float diff = cosS - cosT;
                value += 2 * huber(diff);
                float g = huber_grad(diff) * perTriplet;
                // cos = P / (D_ij D_kj): dP = g / (D_ij D_kj), dD_ij = −g cos / D_ij, dD_kj = −g cos / D_kj,
                // and dD into dG through D = √(G_ii + G_jj − 2 G_ij).
                float dP = g / (dij * dkj);
                dG[i * n + k] += dP;
                accIJ -= dP;
                dG[k * n + j] -= dP;
                accJJ += dP;
                float hij = -g * cosS / dij / (2 * dij), hkj = -g * cosS / dkj / (2 * dkj);
                hIJ += hij;
                dG[k * n + k] += hkj;
                accJJ += hij + hkj;
                dG[k * n + j] -= 2 * hkj;
            }
            dG[i * n + j] += accIJ - 2 * hIJ;
            dG[i * n + i] += hIJ;
            dG[j * n + j] += accJJ;
        }
    }
    return value / (float)triplets;
}
