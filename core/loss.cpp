// core/loss.cpp: (being written)
