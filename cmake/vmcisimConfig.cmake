# vmcisimConfig.cmake - what `find_package(vmcisim)` reads from an installed copy.
# Written by hand rather than exported, because the build links libev through either a
# pkg-config target or a local fallback target, and neither belongs in an install.
#   vmcisim::vmcisim  the static library with libev, pthreads, libm and libdl (as
#                     `pkg-config --libs --static vmcisim`)
#   vmcisim::shared   the shared library
get_filename_component(_vmcisim_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

include(CMakeFindDependencyMacro)
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_dependency(Threads)
find_library(VMCISIM_LIBEV_LIBRARY ev)
if(NOT VMCISIM_LIBEV_LIBRARY)
  set(vmcisim_FOUND FALSE)
  set(vmcisim_NOT_FOUND_MESSAGE "vmcisim needs libev (Debian: apt-get install libev-dev)")
  return()
endif()

if(NOT TARGET vmcisim::vmcisim)
  add_library(vmcisim::vmcisim STATIC IMPORTED)
  set_target_properties(vmcisim::vmcisim PROPERTIES
    IMPORTED_LOCATION "${_vmcisim_prefix}/lib/libvmcisim.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_vmcisim_prefix}/include"
    INTERFACE_LINK_LIBRARIES "${VMCISIM_LIBEV_LIBRARY};Threads::Threads;m;${CMAKE_DL_LIBS}")
endif()
if(NOT TARGET vmcisim::shared AND EXISTS "${_vmcisim_prefix}/lib/libvmcisim.so")
  add_library(vmcisim::shared SHARED IMPORTED)
  set_target_properties(vmcisim::shared PROPERTIES
    IMPORTED_LOCATION "${_vmcisim_prefix}/lib/libvmcisim.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_vmcisim_prefix}/include")
endif()
unset(_vmcisim_prefix)
