// core/optim.h: (being written)
#pragma once
