// core/grad_split.h: placeholder (being written).
