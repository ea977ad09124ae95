// examples/scatter_png.cpp: placeholder (being written).
