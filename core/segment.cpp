// core/segment.cpp: placeholder (being written).
