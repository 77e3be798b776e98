# The closed-form reference (tapegrad_nn_reference) is independent of the tape it checks, read off
# the build itself: every project file its objects were compiled from, as the compiler's own
# dependency files (<object>.d) list them, must be on the allow-list below. An include added
# anywhere in the reference's chain (directly or through another header) fails here, and so does a
# missing dependency file (nothing passes unchecked).
# -DSOURCE_DIR=<project root> -DBUILD_DIR=<build root> -DOBJECTS=<objects, '|'-separated>
set(allowed
  "autodiff/(array|shape|error|blas)\\.hpp"   # plain storage, shapes, errors, the shared BLAS call
  "nn/reference/[a-z_]+\\.(hpp|cpp)"           # the reference itself
  "nn/functional/activation_kind\\.(hpp|cpp)"  # the names of the activations (no math)
  "nn/functional/options\\.hpp"                # enums: loss kinds, reductions, modes
  "nn/functional/random\\.hpp"                 # the mask draws, so tape and reference see one mask
  "nn/functional/(conv|pool)_kernels\\.(hpp|cpp)"  # convolution and pooling, one implementation for both
  "nn/seed/network(_json)?\\.(hpp|cpp)"        # the network graph and its file format
  "nn/seed/minibatch_sum\\.hpp"                # the minibatch sums both sides add in one order
  "nn/io/atomic_file\\.(hpp|cpp)")             # writing the network file
string(REPLACE "|" ";" objects "${OBJECTS}")
list(LENGTH objects count)
if(count LESS 5)
  message(FATAL_ERROR "expected the reference's objects, got '${OBJECTS}'")
endif()
set(checked 0)
set(refused "")
foreach(object IN LISTS objects)
  if(NOT EXISTS "${object}.d")
    message(FATAL_ERROR "no dependency file ${object}.d: build the target first (a generator writing depfiles)")
  endif()
  file(READ "${object}.d" deps)
  string(REGEX MATCHALL "[^ \t\r\n\\\\:]+" paths "${deps}")
  foreach(path IN LISTS paths)
    if(NOT IS_ABSOLUTE "${path}")
      continue()  # the object's own name
    endif()
    file(RELATIVE_PATH rel "${SOURCE_DIR}" "${path}")
    if(rel MATCHES "^\\.\\./" OR path MATCHES "^${BUILD_DIR}/")
      continue()  # a system header, or a generated file
    endif()
    math(EXPR checked "${checked} + 1")
    set(ok FALSE)
    foreach(pattern IN LISTS allowed)
      if(rel MATCHES "^${pattern}$")
        set(ok TRUE)
      endif()
    endforeach()
    if(NOT ok)
      get_filename_component(name "${object}" NAME)
      list(APPEND refused "${name}: ${rel}")
    endif()
  endforeach()
endforeach()
if(refused)
  list(REMOVE_DUPLICATES refused)
  string(REPLACE ";" "\n  " refused "${refused}")
  message(FATAL_ERROR "the reference compiles files outside its allow-list:\n  ${refused}")
endif()
message(STATUS "reference allow-list: ${count} objects, ${checked} project files, all allowed")
