// kernels/cpu/loss.cpp: (being written)
