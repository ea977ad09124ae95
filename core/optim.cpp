// core/optim.cpp: (being written)
