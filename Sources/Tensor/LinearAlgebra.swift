extension Tensor {
    /// Matrix product of rank-2 tensors, optionally with either operand transposed:
    /// `matmul(x, w)` is x·w, `matmul(x, dY, transposeA: true)` is xᵀ·dY (weight gradients),
    /// `matmul(dY, w, transposeB: true)` is dY·wᵀ (input gradients).
    ///
    /// `liveColumnsOf` (same shape as the result; only with `transposeB`) limits the work to the
    /// result's columns where it holds a nonzero in some row, the others left 0: the input gradient
    /// of a layer behind a ReLU, whose units inactive for the whole batch pass no gradient on.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false,
                              liveColumnsOf live: Tensor? = nil, compact: Bool = true) -> Tensor {
        precondition(a.rank == 2 && b.rank == 2, "matmul needs rank-2 tensors, got \(a.shape) and \(b.shape)")
        if transposeA && transposeB { return matmul(a.transposed(), b, transposeB: true) }
        let (m, k) = transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let (kb, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        precondition(kb == k, "matmul shapes \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "") do not agree")
        precondition(live == nil || (transposeB && !transposeA && live!.shape == [m, n]),
                     "liveColumnsOf must have the result's shape [\(m), \(n)] and goes with transposeB only")
        return Tensor(shape: [m, n]) { pc in
            a.scalars.withUnsafeBufferPointer { pa in
                b.scalars.withUnsafeBufferPointer { pb in
                    guard m > 0, n > 0 else { return }
                    guard k > 0 else { return pc.initialize(repeating: 0) }  // an empty sum
                    if transposeB {
                        if let live {
                            live.scalars.withUnsafeBufferPointer { pl in
                                Kernels.matmulTransposedB(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!, m: m, k: k, n: n,
                                                          liveColumnsOf: pl.baseAddress!)
                            }
                        } else {
                            Kernels.matmulTransposedB(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!, m: m, k: k, n: n)
                        }
                    } else {
                        Kernels.matmul(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!, m: m, k: k, n: n, transposedA: transposeA,
                                       compact: compact)
                    }
                }
            }
        }
    }

    /// The gradients of y = x·W + b given dL/dy: (dL/dW = xᵀ·dY, dL/db = Σ rows of dY, dL/dx = dY·Wᵀ
    /// when `needInputGradient`). With `inputFromReLU`, x is a ReLU's output and the input gradient
    /// is carried on through that ReLU — dL/dx where x > 0, else 0: the gradient of the ReLU's
    /// input — and units off for the whole batch are not computed. One kernel call, so the three
    /// share their scans for zero columns.
    public static func denseBackward(input x: Tensor, outputGradient dy: Tensor, weight w: Tensor, needInputGradient: Bool,
                                     inputFromReLU: Bool = false) -> (weight: Tensor, bias: Tensor, input: Tensor?) {
        var dw = Tensor(shape: [0]), db = Tensor(shape: [0]), dx = Tensor(shape: [0])
        denseBackward(input: x, outputGradient: dy, weight: w, inputFromReLU: inputFromReLU,
                      weightGradient: &dw, biasGradient: &db, needInputGradient: needInputGradient, inputGradient: &dx)
        return (dw, db, needInputGradient ? dx : nil)
    }

    /// `denseBackward` writing into existing tensors (reshaped as needed, their storage reused:
    /// no allocation once warm). Without `needInputGradient`, `inputGradient` is left as it is.
    public static func denseBackward(input x: Tensor, outputGradient dy: Tensor, weight w: Tensor, inputFromReLU: Bool = false,
                                     weightGradient dw: inout Tensor, biasGradient db: inout Tensor,
                                     needInputGradient: Bool, inputGradient dx: inout Tensor) {
        precondition(x.rank == 2 && dy.rank == 2 && w.rank == 2 && x.shape[0] == dy.shape[0] && x.shape[1] == w.shape[0]
                     && dy.shape[1] == w.shape[1], "dense backward shapes x \(x.shape), dY \(dy.shape), W \(w.shape) do not agree")
        let (m, k, n) = (x.shape[0], x.shape[1], w.shape[1])
        dw.prepare(rows: k, columns: n)
        db.prepare(count: n)
        if needInputGradient { dx.prepare(rows: m, columns: k) }
        guard m > 0, k > 0, n > 0 else {
            // Empty sums: dW and dx are 0; db is still Σ rows of dY (0 without rows).
            dw.fill(0)
            db.scalars = dy.sumRows().scalars
            if needInputGradient { dx.fill(0) }
            return
        }
        x.scalars.withUnsafeBufferPointer { px in
            dy.scalars.withUnsafeBufferPointer { pdy in
                w.scalars.withUnsafeBufferPointer { pwt in
                    dw.scalars.withUnsafeMutableBufferPointer { pw in
                        db.scalars.withUnsafeMutableBufferPointer { pb in
                            func run(_ pdx: UnsafeMutablePointer<Float>?) {
                                Kernels.denseBackward(input: px.baseAddress!, outputGradient: pdy.baseAddress!, weight: pwt.baseAddress!,
                                                      weightGradient: pw.baseAddress!, biasGradient: pb.baseAddress!, inputGradient: pdx,
                                                      m: m, k: k, n: n, inputFromReLU: inputFromReLU)
                            }
                            if needInputGradient {
                                dx.scalars.withUnsafeMutableBufferPointer { run($0.baseAddress!) }
                            } else {
                                run(nil)
                            }
                        }
                    }
                }
            }
        }
    }

    /// x·W + b in one pass (each output starts as its bias and the products accumulate onto it),
    /// or max(x·W + b, 0) with `relu`, applied as the results are stored.
    public static func linear(_ x: Tensor, _ w: Tensor, _ b: Tensor, relu: Bool = false, compact: Bool = true) -> Tensor {
        precondition(x.rank == 2 && w.rank == 2 && x.shape[1] == w.shape[0] && b.rank == 1 && b.shape[0] == w.shape[1],
                     "linear shapes x \(x.shape), W \(w.shape), b \(b.shape) do not agree")
        let (m, k, n) = (x.shape[0], x.shape[1], w.shape[1])
        return Tensor(shape: [m, n]) { py in
            guard m > 0, n > 0 else { return }
            x.scalars.withUnsafeBufferPointer { px in
                w.scalars.withUnsafeBufferPointer { pw in
                    b.scalars.withUnsafeBufferPointer { pb in
                        Kernels.linear(px.baseAddress, pw.baseAddress, pb.baseAddress!, py.baseAddress!, m: m, k: k, n: n, relu: relu,
                                       compact: compact)
                    }
                }
            }
        }
    }

    /// `linear` writing into `y` (reshaped as needed, its storage reused: no allocation once warm).
    public static func linear(_ x: Tensor, _ w: Tensor, _ b: Tensor, relu: Bool = false, into y: inout Tensor) {
        precondition(x.rank == 2 && w.rank == 2 && x.shape[1] == w.shape[0] && b.rank == 1 && b.shape[0] == w.shape[1],
                     "linear shapes x \(x.shape), W \(w.shape), b \(b.shape) do not agree")
        let (m, k, n) = (x.shape[0], x.shape[1], w.shape[1])
        y.prepare(rows: m, columns: n)
        guard m > 0, n > 0 else { return }
        x.scalars.withUnsafeBufferPointer { px in
            w.scalars.withUnsafeBufferPointer { pw in
                b.scalars.withUnsafeBufferPointer { pb in
                    y.scalars.withUnsafeMutableBufferPointer { py in
                        Kernels.linear(px.baseAddress, pw.baseAddress, pb.baseAddress!, py.baseAddress!, m: m, k: k, n: n, relu: relu)
                    }
                }
            }
        }
    }

    /// The transpose of a rank-2 tensor.
    public func transposed() -> Tensor {
        precondition(rank == 2, "transposed() needs a rank-2 tensor, got \(shape)")
        return Tensor(shape: [shape[1], shape[0]]) { dst in
            scalars.withUnsafeBufferPointer { src in
                guard count > 0 else { return }
                Kernels.transpose(src.baseAddress!, dst.baseAddress!, rows: shape[0], cols: shape[1])
            }
        }
    }

    /// Adds a bias vector to every row.
    public func addingBias(_ bias: Tensor) -> Tensor {
        precondition(rank == 2 && bias.count == shape[1], "bias of \(bias.shape) does not fit rows of \(shape)")
        var out = self
        out.scalars.withUnsafeMutableBufferPointer { x in
            bias.scalars.withUnsafeBufferPointer { b in
                guard count > 0 else { return }
                Kernels.addBias(x.baseAddress!, b.baseAddress!, m: shape[0], n: shape[1])
            }
        }
        return out
    }

    /// Sum over rows (axis 0) of a rank-2 tensor: a vector of its column sums.
    public func sumRows() -> Tensor {
        precondition(rank == 2, "sumRows() needs a rank-2 tensor")
        var out = Tensor(shape: [shape[1]])
        scalars.withUnsafeBufferPointer { x in
            out.scalars.withUnsafeMutableBufferPointer { o in
                guard shape[1] > 0 else { return }
                if shape[0] == 0 { return }
                Kernels.sumRows(x.baseAddress!, o.baseAddress!, m: shape[0], n: shape[1])
            }
        }
        return out
    }
}

extension Tensor {
    /// One Adam update of these parameters in place (moments updated too); see `Kernels.adam`.
    public mutating func adamStep(gradient: Tensor, firstMoment m: inout [Float], secondMoment v: inout [Float],
                                  beta1: Float, beta2: Float, stepSize: Float, sqrtC2: Float, epsilon: Float) {
        precondition(gradient.count == count && m.count == count && v.count == count, "Adam state does not fit the parameters")
        guard count > 0 else { return }
        gradient.scalars.withUnsafeBufferPointer { g in
            m.withUnsafeMutableBufferPointer { mp in
                v.withUnsafeMutableBufferPointer { vp in
                    scalars.withUnsafeMutableBufferPointer { p in
                        Kernels.adam(parameters: p.baseAddress!, gradients: g.baseAddress!, m: mp.baseAddress!, v: vp.baseAddress!,
                                     count: p.count, beta1: beta1, beta2: beta2, stepSize: stepSize, sqrtC2: sqrtC2, epsilon: epsilon)
                    }
                }
            }
        }
    }
}
