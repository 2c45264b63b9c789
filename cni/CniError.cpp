#include "cni/CniError.hpp"

#include <nlohmann/json.hpp>

namespace weft::cni {

std::string encode_error(std::string_view cni_version, const CniError& err) {
  nlohmann::ordered_json doc = {{"cniVersion", cni_version},
                                {"code", static_cast<int>(err.code)},
                                {"msg", err.msg},
                                {"details", err.details}};
  // Details may echo bytes from stdin or the agent; replace invalid UTF-8 rather than throw.
  return doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace weft::cni
