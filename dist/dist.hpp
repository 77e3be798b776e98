#pragma once
// tapegrad::dist, data-parallel training over MPI, in one include.
#include "dist/environment.hpp"
#include "dist/model_sync.hpp"
#include "dist/reducer.hpp"
