// kernels/cuda/loss.cu: (being written)
