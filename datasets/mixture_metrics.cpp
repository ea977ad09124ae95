// datasets/mixture_metrics.cpp: placeholder (being written).
