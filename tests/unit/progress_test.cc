#include "cli/progress.h"

#include <gtest/gtest.h>

namespace pgk::cli {
namespace {

TEST(ProgressLineTest, BarPercentRateAndEta) {
  // 512 MiB of 1 GiB in 8 s: 64 MiB/s, 8 s left.
  std::string line = RenderProgressLine("backup", 512 << 20, 1 << 30, 8.0, "table public.a part 2", 200);
  EXPECT_NE(line.find("[############............]"), std::string::npos) << line;
  EXPECT_NE(line.find(" 50% "), std::string::npos) << line;
  EXPECT_NE(line.find("/s"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA 0:08"), std::string::npos) << line;
  EXPECT_NE(line.find("0:08  table public.a part 2"), std::string::npos) << line;  // elapsed, then the event
}

TEST(ProgressLineTest, EstimateExceededNeverShowsMoreThan99) {
  std::string line = RenderProgressLine("backup", 3000, 2000, 1.0, "", 200);
  EXPECT_NE(line.find(" 99% "), std::string::npos) << line;
  EXPECT_EQ(line.find("ETA"), std::string::npos) << line;
}

TEST(ProgressLineTest, UnknownTotalAndNarrowTerminal) {
  std::string line = RenderProgressLine("restore", 1 << 20, 0, 0.1, "", 200);
  EXPECT_EQ(line.find('['), std::string::npos) << line;
  EXPECT_EQ(line.find("ETA"), std::string::npos) << line;
  EXPECT_LE(RenderProgressLine("backup", 1, 2, 1, std::string(300, 'x'), 40).size(), 39u);
}

}  // namespace
}  // namespace pgk::cli
