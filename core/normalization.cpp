// core/normalization.cpp: (being written)
