// kernels/cuda/linalg.cu: (being written)
