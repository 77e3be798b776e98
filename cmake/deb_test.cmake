# Packages the already-built tree as a .deb (cpack -G DEB), unpacks it into a scratch root (as
# dpkg would install it, without touching the system), then builds and runs examples/consumer
# against that root twice: with find_package(tapegrad) and with pkg-config.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_CPACK_COMMAND} -G DEB -B ${WORK_DIR}/pkg --config ${BUILD_DIR}/CPackConfig.cmake
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
file(GLOB debs ${WORK_DIR}/pkg/*.deb)
if(rc OR NOT debs)
  message(FATAL_ERROR "cpack -G DEB failed (${rc}):\n${out}")
endif()
execute_process(COMMAND dpkg-deb --info ${debs} OUTPUT_VARIABLE info RESULT_VARIABLE rc)
if(rc OR NOT info MATCHES "Package: libtapegrad-dev" OR NOT info MATCHES "Depends: libfmt-dev")
  message(FATAL_ERROR "the package's control data is not as expected (${rc}):\n${info}")
endif()
execute_process(COMMAND dpkg-deb -x ${debs} ${WORK_DIR}/root RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "dpkg-deb -x failed: ${rc}")
endif()
set(usr ${WORK_DIR}/root/usr)
set(flags "")
if(SANITIZE)  # a sanitized library needs a sanitized consumer
  set(flags -fsanitize=address,undefined)
endif()

# 1. CMake: find_package from the unpacked root.
set(cmake_flags "")
if(SANITIZE)
  set(cmake_flags -DCMAKE_CXX_FLAGS=${flags} -DCMAKE_EXE_LINKER_FLAGS=${flags})
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/consumer -B ${WORK_DIR}/cmake-build
                        -DCMAKE_PREFIX_PATH=${usr} -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF ${cmake_flags}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc)
  message(FATAL_ERROR "configuring the consumer against the package failed:\n${out}")
endif()
file(READ ${WORK_DIR}/cmake-build/CMakeCache.txt cache)
if(NOT cache MATCHES "tapegrad_DIR:PATH=${usr}/")
  message(FATAL_ERROR "find_package(tapegrad) did not find the unpacked package under ${usr}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/cmake-build RESULT_VARIABLE rc)
execute_process(COMMAND ${WORK_DIR}/cmake-build/consumer RESULT_VARIABLE run_rc OUTPUT_VARIABLE out)
if(rc OR run_rc OR NOT out MATCHES "dfdx")
  message(FATAL_ERROR "the consumer built with CMake against the package did not run (${rc}, ${run_rc}): ${out}")
endif()

# 2. pkg-config: the relocatable .pc from the unpacked root.
file(GLOB_RECURSE pc ${usr}/*/tapegrad.pc)
if(NOT pc)
  message(FATAL_ERROR "the package has no tapegrad.pc")
endif()
get_filename_component(pc_dir ${pc} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
execute_process(COMMAND pkg-config --cflags --libs tapegrad OUTPUT_VARIABLE pc_flags RESULT_VARIABLE rc
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(rc OR NOT pc_flags MATCHES "${usr}")
  message(FATAL_ERROR "pkg-config --cflags --libs tapegrad: '${pc_flags}' (${rc})")
endif()
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
execute_process(COMMAND ${CXX} ${flags} ${SOURCE_DIR}/examples/consumer/main.cpp -o ${WORK_DIR}/consumer-pc ${pc_flags}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
execute_process(COMMAND ${WORK_DIR}/consumer-pc RESULT_VARIABLE run_rc OUTPUT_VARIABLE out2)
if(rc OR run_rc OR NOT out2 MATCHES "dfdx")
  message(FATAL_ERROR "the consumer built with pkg-config did not build or run (${rc}, ${run_rc}):\n${out}${out2}")
endif()
message(STATUS "package ${debs}: consumer built with find_package and with pkg-config; ${out2}")
