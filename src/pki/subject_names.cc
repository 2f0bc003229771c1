#include "pki/authority.h"

namespace certplan::pki {

std::string CommonNameFor(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (name.size() <= kMaxSubjectCharacters) return name;  // host names are ASCII
  }
  return {};
}

std::string OrganizationFor(std::string_view company_name) {
  size_t characters = 0;
  for (size_t i = 0; i < company_name.size(); ++i) {
    // A byte that does not continue a sequence starts the next character.
    if ((static_cast<unsigned char>(company_name[i]) & 0xC0) != 0x80 &&
        ++characters > kMaxSubjectCharacters) {
      return std::string(company_name.substr(0, i));
    }
  }
  return std::string(company_name);
}

}  // namespace certplan::pki
