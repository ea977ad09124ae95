// core/linalg.cpp: (being written)
