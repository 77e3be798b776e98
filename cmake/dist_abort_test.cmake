# Runs COMMAND (mpirun -np 2 dist_abort): the job must end non-zero, naming the failing rank.
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
message(STATUS "exit: ${rc}\n${out}\n${err}")
if(rc EQUAL 0 OR rc MATCHES "timeout")
  message(FATAL_ERROR "the job should have failed (exit ${rc})")
endif()
if(NOT err MATCHES "tapegrad rank 1 of 2: error: step 3: this rank's data is corrupt")
  message(FATAL_ERROR "the failing rank's message is missing")
endif()
