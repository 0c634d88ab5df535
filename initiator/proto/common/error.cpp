// (Anchor translation unit: the common area is header-only today, and a static library needs
// one object.)
#include "proto/common/error.hpp"
#include "proto/common/result.hpp"
#include "proto/common/serial.hpp"
