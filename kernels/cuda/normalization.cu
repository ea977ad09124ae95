// kernels/cuda/normalization.cu: (being written)
