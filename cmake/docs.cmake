# The API reference (docs/Doxyfile.in): a `docs` target, and the `api_docs` test that fails on any
# Doxygen warning, an undocumented public declaration among them. Both need Debian's `doxygen`
# (scripts/deps.sh installs it); without it neither exists and configuring says so.
find_package(Doxygen QUIET)
if(NOT DOXYGEN_FOUND)
  message(STATUS "doxygen not found: no `docs` target and no api_docs test")
  return()
endif()
set(TAPEGRAD_DOCS_OUT ${PROJECT_BINARY_DIR}/docs/api)
set(TAPEGRAD_DOCS_WARN_AS_ERROR FAIL_ON_WARNINGS)
configure_file(${PROJECT_SOURCE_DIR}/docs/Doxyfile.in ${PROJECT_BINARY_DIR}/docs/Doxyfile @ONLY)
add_custom_target(docs
  COMMAND Doxygen::doxygen ${PROJECT_BINARY_DIR}/docs/Doxyfile
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
  COMMENT "API reference -> ${TAPEGRAD_DOCS_OUT}/html/index.html"
  VERBATIM)
if(TAPEGRAD_BUILD_TESTS)
  add_test(NAME api_docs COMMAND Doxygen::doxygen ${PROJECT_BINARY_DIR}/docs/Doxyfile
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
endif()
