// Every family the engine knows: adding one is its module plus one line in each list below.
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

std::string family_names() {
  std::string out;
  for (const Family* const* f = all_families(); *f; ++f) out += std::string(out.empty() ? "" : ", ") + (*f)->name();
  return out;
}

}  // namespace vitrine
