// kernels/cuda/optim.cu: (being written)
