// How the C++ API reports a rejected call without throwing or aborting.
//
// Every public entry point validates its arguments before touching memory and
// returns a status. The kind maps one-to-one onto the JavaScript error class
// the bindings raise: type_error -> TypeError, range_error -> RangeError,
// state_error -> Error. Messages name the argument, what was expected and what
// was given, and use the JavaScript API's argument names (`keyPaddingMask`),
// since that is where almost every caller comes from.
#pragma once

#include <string>
#include <utility>

namespace mha
{
enum class error_kind
{
    none,
    type_error,
    range_error,
    state_error,
};

class status
{
public:
    status() = default;
    static status type_error(std::string message) { return status(error_kind::type_error, std::move(message)); }
    static status range_error(std::string message) { return status(error_kind::range_error, std::move(message)); }
    static status state_error(std::string message) { return status(error_kind::state_error, std::move(message)); }

    bool ok() const { return kind_ == error_kind::none; }
    error_kind kind() const { return kind_; }
    const std::string& message() const { return message_; }

private:
    status(error_kind kind, std::string message)
        : kind_(kind)
        , message_(std::move(message))
    {
    }
    error_kind kind_ = error_kind::none;
    std::string message_;
};
} // namespace mha
