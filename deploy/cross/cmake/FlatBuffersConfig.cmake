# FlatBuffers for a cross build. The headers are found as CLI11's are (see
# CLI11Config.cmake); flatc generates code at build time, so it is the build
# machine's: HOPWIRE_HOST_FLATC, or flatc on the build machine's PATH.
if(NOT TARGET flatbuffers::flatc)
  if(NOT HOPWIRE_HOST_FLATC)
    find_program(HOPWIRE_HOST_FLATC flatc NO_CMAKE_FIND_ROOT_PATH REQUIRED)
  endif()
  add_executable(flatbuffers::flatc IMPORTED)
  set_target_properties(flatbuffers::flatc PROPERTIES IMPORTED_LOCATION "${HOPWIRE_HOST_FLATC}")
endif()
set(FlatBuffers_FOUND TRUE)
