# CLI11 for a cross build. It is header-only and its headers are already on
# the compiler's search path (Debian's cross compilers search /usr/include;
# the OpenWRT package copies them into host-include, see its Makefile), so
# the target adds no include directory that could mix the build machine's
# C library headers into the target's.
if(NOT TARGET CLI11::CLI11)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
endif()
set(CLI11_FOUND TRUE)
