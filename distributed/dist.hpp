#pragma once
/// \file
/// tapegrad::dist, data-parallel training over MPI, in one include.
#include "distributed/environment.hpp"
#include "distributed/model_sync.hpp"
#include "distributed/reducer.hpp"
