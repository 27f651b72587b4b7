#include "log.h"

#include <stdexcept>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>

namespace hopwire {

void init_logging(std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off")
    throw std::invalid_argument("log level '" + std::string(level) +
                                "': expected trace, debug, info, warn, error or off");
  auto logger = spdlog::stderr_logger_mt("hopwire");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace hopwire
