// kernels/cpu/optim.cpp: (being written)
