// examples/scatter_png.h: placeholder (being written).
