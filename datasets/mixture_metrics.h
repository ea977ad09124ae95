// datasets/mixture_metrics.h: placeholder (being written).
