# CMake package of backprop.h: find_package(backprop) provides the INTERFACE target
# backprop::backprop (the include directory, and libm where there is one). Relocatable: the
# prefix is found from this file's own place, <prefix>/share/cmake/backprop.
get_filename_component(_backprop_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET backprop::backprop)
  add_library(backprop::backprop INTERFACE IMPORTED)
  set_target_properties(backprop::backprop PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_backprop_prefix}/include")
  if(UNIX AND NOT APPLE)
    set_property(TARGET backprop::backprop PROPERTY INTERFACE_LINK_LIBRARIES m)
  endif()
endif()
unset(_backprop_prefix)
