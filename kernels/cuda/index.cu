// kernels/cuda/index.cu: (being written)
