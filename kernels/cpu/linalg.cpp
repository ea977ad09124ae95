// kernels/cpu/linalg.cpp: (being written)
