# tapegrad_library(<name> <sources...>): a static library tapegrad_<name> with the alias
# tapegrad::<name>, C++20, the project root as include root (installed: include/tapegrad), and the
# project's warnings (PRIVATE, so consumers do not inherit them).
function(tapegrad_library name)
  add_library(tapegrad_${name} STATIC ${ARGN})
  add_library(tapegrad::${name} ALIAS tapegrad_${name})
  set_target_properties(tapegrad_${name} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME tapegrad_${name})
  target_compile_features(tapegrad_${name} PUBLIC cxx_std_20)
  target_include_directories(tapegrad_${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/tapegrad>)
  target_link_libraries(tapegrad_${name} PRIVATE $<BUILD_INTERFACE:tapegrad_warnings>)
endfunction()
