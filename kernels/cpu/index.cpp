// kernels/cpu/index.cpp: (being written)
