# Run at build time (cmake -P) over the protocol core's sources: proto is sans-IO, so it may not
# include Asio, sockets, threads or clocks, nor read the time or draw randomness itself. Time and
# randomness are parameters. The build of iscsi_proto fails when one of these appears.
file(GLOB_RECURSE sources "${PROTO_DIR}/*.hpp" "${PROTO_DIR}/*.cpp")
set(forbidden
  "#[ \t]*include[ \t]*[<\"]boost/asio"
  "#[ \t]*include[ \t]*[<\"]asio"
  "#[ \t]*include[ \t]*[<\"]sys/socket\\.h"
  "#[ \t]*include[ \t]*[<\"]netinet/"
  "#[ \t]*include[ \t]*[<\"]thread>"
  "#[ \t]*include[ \t]*[<\"]mutex>"
  "#[ \t]*include[ \t]*[<\"]future>"
  "#[ \t]*include[ \t]*[<\"]random>"
  "_clock::now[ \t]*\\("
  "[^a-z_]time[ \t]*\\([ \t]*(NULL|nullptr|0)?[ \t]*\\)"
  "[^a-z_]s?rand[ \t]*\\("
  "RAND_bytes"
  "getenv[ \t]*\\(")
set(violations "")
foreach(file IN LISTS sources)
  file(STRINGS "${file}" lines)
  set(lineno 0)
  foreach(line IN LISTS lines)
    math(EXPR lineno "${lineno} + 1")
    foreach(pattern IN LISTS forbidden)
      if(line MATCHES "${pattern}")
        string(APPEND violations "\n  ${file}:${lineno}: ${line}")
      endif()
    endforeach()
  endforeach()
endforeach()
if(violations)
  message(FATAL_ERROR "proto is sans-IO (no Asio, sockets, threads, clocks or own randomness):${violations}")
endif()
file(WRITE "${STAMP}" "ok\n")
