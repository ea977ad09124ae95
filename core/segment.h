// core/segment.h: placeholder (being written).
