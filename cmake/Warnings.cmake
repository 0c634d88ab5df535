# Warnings every target of ours gets (not third-party code).
add_library(iscsi_warnings INTERFACE)
target_compile_options(iscsi_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough
  $<$<BOOL:${ISCSI_WERROR}>:-Werror>)
option(ISCSI_WERROR "Treat warnings as errors" OFF)
