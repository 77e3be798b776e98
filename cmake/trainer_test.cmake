# The trainer as a user runs it (ctest -R trainer): a short run, a resumed run that must reproduce
# the uninterrupted one, --eval-only, and bad input that must fail with a clear message.
# Arguments: -DTRAIN=<tapegrad-train> -DWORK_DIR=<scratch> -DDATA=<MNIST-format dir> -DNETWORK=<seed network JSON>
file(REMOVE_RECURSE ${WORK_DIR})
set(recipe --limit 1500 --hidden 32 --batch-size 100 --threads 1 --seed 5)
set(common --data ${DATA} ${recipe})

function(run expect_ok)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(last_output "${out}${err}" PARENT_SCOPE)
  if(expect_ok AND NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}${err}")
  elseif(NOT expect_ok AND rc EQUAL 0)
    message(FATAL_ERROR "should have failed: ${ARGN}\n${out}${err}")
  endif()
endfunction()

function(expect_in text)
  string(FIND "${last_output}" "${text}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "expected '${text}' in:\n${last_output}")
  endif()
endfunction()

# Straight and resumed runs must give the same metrics (deterministic for a seed and thread count).
function(expect_same_metrics a b)
  file(READ ${a} first)
  file(READ ${b} second)
  string(REGEX REPLACE ",[0-9.]+\n" "\n" first "${first}")  # drop the seconds column
  string(REGEX REPLACE ",[0-9.]+\n" "\n" second "${second}")
  if(NOT first STREQUAL second)
    message(FATAL_ERROR "resumed run differs from the uninterrupted one:\n${first}\nvs\n${second}")
  endif()
endfunction()

# 3 epochs straight, and 2 + 1 resumed
run(TRUE ${TRAIN} ${common} --epochs 3 --out ${WORK_DIR}/straight)
expect_in("test accuracy")
run(TRUE ${TRAIN} ${common} --epochs 3 --stop-after 2 --out ${WORK_DIR}/first)
file(COPY ${WORK_DIR}/first/last.tgc DESTINATION ${WORK_DIR}/keep)
run(TRUE ${TRAIN} ${common} --epochs 3 --out ${WORK_DIR}/resumed --resume ${WORK_DIR}/keep/last.tgc)
expect_in("resumed from")
expect_same_metrics(${WORK_DIR}/straight/metrics.csv ${WORK_DIR}/resumed/metrics.csv)
foreach(f metrics.csv curves.svg confusion.csv model.tgc last.tgc)
  if(NOT EXISTS ${WORK_DIR}/straight/${f})
    message(FATAL_ERROR "missing output ${f}")
  endif()
endforeach()
run(TRUE ${TRAIN} ${common} --eval-only --resume ${WORK_DIR}/straight/last.tgc --out ${WORK_DIR}/eval)
expect_in("test accuracy")
run(TRUE ${TRAIN} ${common} --eval-only --resume ${WORK_DIR}/straight/model.tgc --out ${WORK_DIR}/eval)
expect_in("test accuracy")

# The shipped seed network (DropConnect masks drawn per minibatch from (seed, epoch)): 2 epochs
# straight and 1 + 1 resumed agree too.
set(seed_net --data ${DATA} --limit 1000 --threads 1 --seed 5 --network ${NETWORK} --epochs 2)
run(TRUE ${TRAIN} ${seed_net} --out ${WORK_DIR}/dag)
expect_in("seed network fashion_dag.json")
run(TRUE ${TRAIN} ${seed_net} --stop-after 1 --out ${WORK_DIR}/dag_first)
run(TRUE ${TRAIN} ${seed_net} --resume ${WORK_DIR}/dag_first/last.tgc --out ${WORK_DIR}/dag_resumed)
expect_same_metrics(${WORK_DIR}/dag/metrics.csv ${WORK_DIR}/dag_resumed/metrics.csv)

# Ctrl-C: SIGINT stops after the current batch (exit code 130, a message), and last.tgc, written
# after each completed epoch, loads.
execute_process(COMMAND timeout --preserve-status --signal=INT 15 ${TRAIN} ${common} --epochs 100000 --out ${WORK_DIR}/interrupted
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(last_output "${out}${err}")
if(NOT rc EQUAL 130)
  message(FATAL_ERROR "SIGINT should end the trainer with 130, got ${rc}:\n${last_output}")
endif()
expect_in("interrupted: ")
run(TRUE ${TRAIN} ${common} --eval-only --resume ${WORK_DIR}/interrupted/last.tgc --out ${WORK_DIR}/eval)
expect_in("test accuracy")

# bad input: a clear message and a non-zero exit
run(FALSE ${TRAIN} --no-such-option)
expect_in("no-such-option")
run(FALSE ${TRAIN} ${recipe} --data ${WORK_DIR}/missing --out ${WORK_DIR}/x)
expect_in("dataset-fashion-mnist")
run(FALSE ${TRAIN} --data ${DATA} --limit 1500 --hidden 64 --threads 1 --epochs 2 --resume ${WORK_DIR}/keep/last.tgc --out ${WORK_DIR}/y)
expect_in("0.weight")
file(WRITE ${WORK_DIR}/file "")
run(FALSE ${TRAIN} ${common} --out ${WORK_DIR}/file/sub)
expect_in("output directory")
run(FALSE ${TRAIN} ${common} --optimizer adagrad)
expect_in("adagrad")
