// optim/adaptive_weighting.cpp: placeholder (being written).
