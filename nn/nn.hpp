#pragma once
// tapegrad::nn: neural-network pieces built from tape ops.
#include "nn/loss.hpp"
