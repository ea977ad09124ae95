// optim/adaptive_weighting.h: placeholder (being written).
