# CMake toolchain for cross-building the sensor with Debian's cross compilers
# (g++-aarch64-linux-gnu, g++-mipsel-linux-gnu, ...) against the target's
# Debian -dev packages unpacked into a sysroot. deploy/cross-build.sh sets
# it up and passes:
#   -DHOPWIRE_CROSS_TRIPLET=aarch64-linux-gnu  the GNU triplet (tools' prefix)
#   -DHOPWIRE_CROSS_SYSROOT=DIR                the unpacked -dev packages
# The target's C and C++ libraries come with the cross compiler
# (/usr/TRIPLET); everything else the sensor links comes from the sysroot.
# Header-only libraries (Boost, CLI11, FlatBuffers) are the build machine's:
# Debian's cross compilers search /usr/include after their own directories.

set(CMAKE_SYSTEM_NAME Linux)
if(NOT HOPWIRE_CROSS_TRIPLET OR NOT HOPWIRE_CROSS_SYSROOT)
  message(FATAL_ERROR "give -DHOPWIRE_CROSS_TRIPLET=... and -DHOPWIRE_CROSS_SYSROOT=... (see deploy/cross-build.sh)")
endif()
# try_compile projects see these too.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES HOPWIRE_CROSS_TRIPLET HOPWIRE_CROSS_SYSROOT)
set(_t ${HOPWIRE_CROSS_TRIPLET})
set(_s ${HOPWIRE_CROSS_SYSROOT})
string(REGEX REPLACE "-.*" "" CMAKE_SYSTEM_PROCESSOR ${_t})

set(CMAKE_C_COMPILER ${_t}-gcc)
set(CMAKE_CXX_COMPILER ${_t}-g++)
set(CMAKE_AR ${_t}-ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${_t}-ranlib CACHE FILEPATH "")
set(CMAKE_STRIP ${_t}-strip CACHE FILEPATH "")
set(CMAKE_LIBRARY_ARCHITECTURE ${_t})

# Libraries and package configs only from the sysroot; programs (flatc)
# only from the build machine.
set(CMAKE_FIND_ROOT_PATH ${_s})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The sysroot's headers before the build machine's /usr/include (OpenSSL's
# configuration header is per architecture); its libraries' own dependencies
# (libpcap's, say) resolved there at link time.
set(CMAKE_C_FLAGS_INIT "-isystem ${_s}/usr/include/${_t} -isystem ${_s}/usr/include")
set(CMAKE_CXX_FLAGS_INIT "-isystem ${_s}/usr/include/${_t} -isystem ${_s}/usr/include")
set(CMAKE_EXE_LINKER_FLAGS_INIT
    "-L${_s}/usr/lib/${_t} -Wl,-rpath-link,${_s}/usr/lib/${_t}:${_s}/lib/${_t}")

# pkg-config (libpcap, libnl): the sysroot's .pc files, paths inside it.
set(ENV{PKG_CONFIG_LIBDIR} "${_s}/usr/lib/${_t}/pkgconfig:${_s}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${_s}")
set(ENV{PKG_CONFIG_PATH} "")
