// Every family the engine knows, the one list of them: adding one is its module plus its two lines here (the
// converter finds its module src/js/convert/families/<name>.js through familyNames().
#include "family.h"

namespace vitrine {

const Family& vit_family();
const Family& deit_family();
const Family& dinov2_family();
const Family& clip_family();
const Family& siglip_family();

namespace {

const Family* const* all_families() {
  static const Family* const list[] = {&vit_family(), &deit_family(), &dinov2_family(), &clip_family(), &siglip_family(), nullptr};
  return list;
}

}  // namespace

const Family* find_family(const std::string& name) {
  for (const Family* const* f = all_families(); *f; ++f)
    if (name == (*f)->name()) return *f;
  return nullptr;
}

std::vector<std::string> family_list() {
  std::vector<std::string> out;
  for (const Family* const* f = all_families(); *f; ++f) out.push_back((*f)->name());
  return out;
}

std::string family_names() {
  std::string out;
  for (const std::string& name : family_list()) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace vitrine
