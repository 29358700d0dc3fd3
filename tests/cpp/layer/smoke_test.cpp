#include <gtest/gtest.h>
#include "mha/multi_head_attention.hpp"
TEST(Smoke, Builds) { EXPECT_TRUE(mha::multi_head_attention::check_config({8, 2}).ok()); }
