// The record database on a temporary root: iscsiadm's new/update/delete/show for nodes,
// discovery and ifaces, the on-disk layout, 0600 files, atomic replacement (a stray temp file
// from a crashed write is ignored and the old record stays readable), secrets masked.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/atomic_file.hpp"
#include "config/record_db.hpp"

namespace iscsi::config {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class RecordDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "iscsi-lab-config-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }

  static std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static mode_t mode_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }

  NodeId node() const {
    return {"iqn.2003-01.org.linux-iscsi.lab:t1", "127.0.0.1", 3260, 1, "default"};
  }

  fs::path root_;
};

TEST_F(RecordDbTest, NewNodeWritesOpenIscsiLayoutWithMode0600) {
  RecordDb db(root_);
  ASSERT_TRUE(db.new_node(node()).ok());
  const fs::path file = root_ / "nodes/iqn.2003-01.org.linux-iscsi.lab:t1/127.0.0.1,3260,1/default";
  ASSERT_TRUE(fs::is_regular_file(file));
  EXPECT_EQ(mode_of(file), 0600u);
  EXPECT_EQ(mode_of(file.parent_path()), 0700u);
  const std::string text = slurp(file);
  EXPECT_THAT(text, ::testing::StartsWith("# BEGIN RECORD 2.1.8\n"));
  EXPECT_THAT(text, HasSubstr("\nnode.name = iqn.2003-01.org.linux-iscsi.lab:t1\n"));
  EXPECT_THAT(text, HasSubstr("\nnode.conn[0].address = 127.0.0.1\n"));
  EXPECT_THAT(text, HasSubstr("\nnode.session.timeo.replacement_timeout = 120\n"));
  const auto listed = db.list_nodes();
  ASSERT_TRUE(listed.ok()) << listed.message();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front(), node());
  EXPECT_EQ(listed->front().to_string(), "127.0.0.1:3260,1 iqn.2003-01.org.linux-iscsi.lab:t1");
}

TEST_F(RecordDbTest, NewNodeTakesIscsidConfDefaults) {
  RecordDb db(root_);
  SettingMap conf;
  ASSERT_FALSE(conf.set("node.session.timeo.replacement_timeout", "15"));
  ASSERT_FALSE(conf.set("iscsid.startup", "/bin/true"));
  ASSERT_TRUE(db.new_node(node(), conf).ok());
  const auto rec = db.read_node(node());
  ASSERT_TRUE(rec.ok()) << rec.message();
  EXPECT_EQ(*rec->get("node.session.timeo.replacement_timeout"), "15");
  EXPECT_FALSE(rec->contains("iscsid.startup"));
}

TEST_F(RecordDbTest, WriteReadRewriteIsByteIdentical) {
  RecordDb db(root_);
  ASSERT_TRUE(db.new_node(node()).ok());
  ASSERT_TRUE(db.update_node(node(), "node.session.auth.password", "p4ss word").ok());
  const fs::path file = *db.node_path(node());
  const std::string first = slurp(file);
  const auto rec = db.read_node(node());
  ASSERT_TRUE(rec.ok());
  ASSERT_TRUE(db.write_node(node(), *rec).ok());
  EXPECT_EQ(slurp(file), first);
}

TEST_F(RecordDbTest, UpdateValidatesAndPersists) {
  RecordDb db(root_);
  ASSERT_TRUE(db.new_node(node()).ok());
  ASSERT_TRUE(db.update_node(node(), "node.conn[0].timeo.noop_out_interval", "10").ok());
  EXPECT_EQ(*db.read_node(node())->get("node.conn[0].timeo.noop_out_interval"), "10");

  const auto unknown = db.update_node(node(), "node.conn[0].timeo.noop_interval", "10");
  EXPECT_EQ(unknown.error(), make_error_code(Errc::unknown_setting));
  EXPECT_THAT(unknown.message(), HasSubstr("did you mean 'node.conn[0].timeo.noop_out_interval'"));
  EXPECT_EQ(db.update_node(node(), "node.session.cmds_max", "1").error(),
            make_error_code(Errc::out_of_range));
  EXPECT_EQ(db.update_node(node(), "node.name", "iqn.2003-01.org.x:y").error(),
            make_error_code(Errc::read_only_setting));
  EXPECT_EQ(db.update_node(node(), "discovery.startup", "manual").error(),
            make_error_code(Errc::wrong_scope));
  NodeId missing = node();
  missing.tpgt = 2;
  EXPECT_EQ(db.update_node(missing, "node.startup", "automatic").error(),
            make_error_code(Errc::record_not_found));
}

TEST_F(RecordDbTest, ShowMasksSecretsUnlessShowSecrets) {
  RecordDb db(root_);
  ASSERT_TRUE(db.new_node(node()).ok());
  ASSERT_TRUE(db.update_node(node(), "node.session.auth.password", "s3cr3t-value").ok());
  const auto masked = db.show_node(node());
  ASSERT_TRUE(masked.ok());
  EXPECT_THAT(*masked, HasSubstr("node.session.auth.password = ********\n"));
  EXPECT_THAT(*masked, ::testing::Not(HasSubstr("s3cr3t-value")));
  const auto shown = db.show_node(node(), true);
  EXPECT_THAT(*shown, HasSubstr("node.session.auth.password = s3cr3t-value\n"));
}

TEST_F(RecordDbTest, StrayTempFileFromACrashLeavesOldRecordIntact) {
  RecordDb db(root_);
  ASSERT_TRUE(db.new_node(node()).ok());
  ASSERT_TRUE(db.update_node(node(), "node.startup", "automatic").ok());
  const fs::path file = *db.node_path(node());
  const std::string before = slurp(file);
  // A writer died after writing half of its temp file: the name is what write_file_atomic uses.
  const fs::path stray = file.parent_path() / ".default.tmp-AbC123";
  std::ofstream(stray) << "# BEGIN RECORD 2.1.8\nnode.startup = man";
  ASSERT_TRUE(fs::exists(stray));

  EXPECT_EQ(slurp(file), before);
  const auto rec = db.read_node(node());
  ASSERT_TRUE(rec.ok()) << rec.message();
  EXPECT_EQ(*rec->get("node.startup"), "automatic");
  const auto listed = db.list_nodes();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 1u);  // the temp file is not a record
  // The next write succeeds beside it and leaves no temp file of its own.
  ASSERT_TRUE(db.update_node(node(), "node.startup", "manual").ok());
  EXPECT_EQ(*db.read_node(node())->get("node.startup"), "manual");
  std::size_t temps = 0;
  for (const auto& e : fs::directory_iterator(file.parent_path()))
    temps += e.path().filename().string().find(".tmp-") != std::string::npos;
  EXPECT_EQ(temps, 1u);  // only the stray one
  EXPECT_EQ(mode_of(file), 0600u);
}

TEST_F(RecordDbTest, TruncatedRecordOnDiskIsReportedWithItsPath) {
  RecordDb db(root_);
  ASSERT_TRUE(db.new_node(node()).ok());
  const fs::path file = *db.node_path(node());
  const std::string text = slurp(file);
  std::ofstream(file, std::ios::trunc) << text.substr(0, text.size() / 2);
  const auto rec = db.read_node(node());
  ASSERT_FALSE(rec.ok());
  EXPECT_THAT(rec.message(), HasSubstr(file.string() + ":"));
  bool truncated = false;
  for (const auto& d : rec.diagnostics())
    truncated = truncated || d.code == make_error_code(Errc::missing_record_end);
  EXPECT_TRUE(truncated) << rec.message();
}

TEST_F(RecordDbTest, AtomicWriteReplacesWithMode0600EvenOverA0644File) {
  const fs::path file = root_ / "plain";
  std::ofstream(file) << "old";
  ::chmod(file.c_str(), 0644);
  ASSERT_TRUE(write_file_atomic(file, "new contents\n").ok());
  EXPECT_EQ(slurp(file), "new contents\n");
  EXPECT_EQ(mode_of(file), 0600u);
}

TEST_F(RecordDbTest, AtomicWriteIntoMissingDirectoryFailsCleanly) {
  const auto st = write_file_atomic(root_ / "no/such/dir/file", "x");
  EXPECT_EQ(st.error(), make_error_code(Errc::io_error));
  EXPECT_THAT(st.message(), HasSubstr("cannot create temporary file"));
}

TEST_F(RecordDbTest, DeleteNodePrunesEmptyDirectories) {
  RecordDb db(root_);
  ASSERT_TRUE(db.new_node(node()).ok());
  ASSERT_TRUE(db.delete_node(node()).ok());
  EXPECT_FALSE(fs::exists(root_ / "nodes/iqn.2003-01.org.linux-iscsi.lab:t1"));
  EXPECT_EQ(db.delete_node(node()).error(), make_error_code(Errc::record_not_found));
  EXPECT_TRUE(db.list_nodes()->empty());
}

TEST_F(RecordDbTest, ListsManyNodesSorted) {
  RecordDb db(root_);
  NodeId a = node();
  NodeId b = node();
  b.address = "::1";
  NodeId c = node();
  c.target = "iqn.2003-01.org.linux-iscsi.lab:t0";
  c.tpgt = 3;
  for (const auto& id : {a, b, c}) ASSERT_TRUE(db.new_node(id).ok());
  const auto listed = db.list_nodes();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0], c);
  EXPECT_EQ((*listed)[1].address, "127.0.0.1");
  EXPECT_EQ((*listed)[2].address, "::1");
  EXPECT_EQ(b.to_string(), "[::1]:3260,1 iqn.2003-01.org.linux-iscsi.lab:t1");
}

TEST_F(RecordDbTest, RecordIdsThatCannotBePathsAreRefused) {
  RecordDb db(root_);
  for (auto mutate : std::vector<void (*)(NodeId&)>{
           [](NodeId& n) { n.target = "../../etc"; },
           [](NodeId& n) { n.target = "a/b"; },
           [](NodeId& n) { n.target = ""; },
           [](NodeId& n) { n.address = "1.2.3.4,5"; },
           [](NodeId& n) { n.iface = ".hidden"; },
           [](NodeId& n) { n.port = 0; },
           [](NodeId& n) { n.tpgt = 70000; }}) {
    NodeId id = node();
    mutate(id);
    EXPECT_EQ(db.new_node(id).error(), make_error_code(Errc::invalid_record_id)) << id.to_string();
  }
  EXPECT_FALSE(fs::exists(root_ / "nodes"));
}

TEST_F(RecordDbTest, DiscoveryRecordLifecycle) {
  RecordDb db(root_);
  const DiscoveryId portal{"192.0.2.10", 3260};
  SettingMap conf;
  ASSERT_FALSE(conf.set("discovery.sendtargets.auth.authmethod", "CHAP"));
  ASSERT_FALSE(conf.set("node.startup", "automatic"));  // not a discovery key: left out
  ASSERT_TRUE(db.new_discovery(portal, conf).ok());
  const fs::path file = root_ / "send_targets/192.0.2.10,3260/st_config";
  ASSERT_TRUE(fs::is_regular_file(file));
  EXPECT_EQ(mode_of(file), 0600u);
  EXPECT_THAT(slurp(file), HasSubstr("\ndiscovery.sendtargets.address = 192.0.2.10\n"));
  EXPECT_THAT(slurp(file), ::testing::Not(HasSubstr("node.startup")));
  ASSERT_TRUE(db.update_discovery(portal, "discovery.sendtargets.auth.password", "pw").ok());
  EXPECT_THAT(*db.show_discovery(portal), HasSubstr("discovery.sendtargets.auth.password = ********"));
  EXPECT_EQ(db.update_discovery(portal, "node.startup", "manual").error(),
            make_error_code(Errc::wrong_scope));
  const auto listed = db.list_discovery();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front(), portal);

  // Deleting the portal deletes the nodes it reported, and only those.
  NodeId found = node();
  NodeId other = node();
  other.target = "iqn.2003-01.org.linux-iscsi.lab:static";
  ASSERT_TRUE(db.new_node(found).ok());
  ASSERT_TRUE(db.new_node(other).ok());
  auto rec = db.read_node(found);
  ASSERT_FALSE(rec->set("node.discovery_type", "send_targets"));
  ASSERT_FALSE(rec->set("node.discovery_address", "192.0.2.10"));
  ASSERT_FALSE(rec->set("node.discovery_port", "3260"));
  ASSERT_TRUE(db.write_node(found, *rec).ok());
  ASSERT_TRUE(db.delete_discovery(portal).ok());
  const auto left = db.list_nodes();
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front(), other);
  EXPECT_TRUE(db.list_discovery()->empty());
}

TEST_F(RecordDbTest, IsnsDiscoveryRecordsLiveBesideSendTargetsOnesWithOnlyTheirKeys) {
  RecordDb db(root_);
  const DiscoveryId st{"192.0.2.10", 3260};
  const DiscoveryId isns{"192.0.2.10", kIsnsPort, DiscoveryKind::isns};
  SettingMap conf;
  ASSERT_FALSE(conf.set("discovery.sendtargets.auth.authmethod", "CHAP"));  // not an iSNS key
  ASSERT_TRUE(db.new_discovery(isns, conf).ok());
  ASSERT_TRUE(db.new_discovery(st, conf).ok());
  const fs::path file = root_ / "isns/192.0.2.10,3205/isns_config";
  ASSERT_TRUE(fs::is_regular_file(file));
  EXPECT_EQ(mode_of(file), 0600u);
  EXPECT_THAT(slurp(file), ::testing::Not(HasSubstr("discovery.sendtargets.auth")));
  EXPECT_THAT(slurp(file), HasSubstr("\ndiscovery.type = isns\n"));
  EXPECT_THAT(slurp(root_ / "send_targets/192.0.2.10,3260/st_config"),
              ::testing::Not(HasSubstr("discovery.isns.")));
  EXPECT_EQ(db.update_discovery(isns, "discovery.sendtargets.auth.username", "u").error(),
            make_error_code(Errc::wrong_scope));
  EXPECT_EQ(db.update_discovery(st, "discovery.isns.use_discoveryd", "Yes").error(),
            make_error_code(Errc::wrong_scope));
  ASSERT_TRUE(db.update_discovery(isns, "discovery.isns.discoveryd_poll_inval", "0").ok());
  EXPECT_EQ(*db.read_discovery(isns)->get("discovery.isns.discoveryd_poll_inval"), "0");
  EXPECT_EQ(*db.list_discovery(), (std::vector<DiscoveryId>{st, isns}));
  // An old-style (before open-iscsi 2.0-872) node link in isns/ is not a server record.
  std::ofstream(root_ / "isns/iqn.2003-01.org.example:t1,192.0.2.1,3260,1,default") << "x";
  EXPECT_EQ(db.list_discovery()->size(), 2u);

  // Deleting the iSNS record takes only the nodes it found, not SendTargets' ones.
  NodeId by_isns = node();
  NodeId by_st = node();
  by_st.target = "iqn.2003-01.org.linux-iscsi.lab:st";
  for (auto [id, type, port] : {std::tuple{by_isns, "isns", "3205"}, std::tuple{by_st, "send_targets", "3260"}}) {
    SettingMap rec;
    ASSERT_FALSE(rec.set("node.discovery_type", type));
    ASSERT_FALSE(rec.set("node.discovery_address", "192.0.2.10"));
    ASSERT_FALSE(rec.set("node.discovery_port", port));
    ASSERT_TRUE(db.new_node(id, rec).ok());
  }
  ASSERT_TRUE(db.delete_discovery(isns).ok());
  EXPECT_EQ(*db.list_nodes(), std::vector<NodeId>{by_st});
  EXPECT_EQ(*db.list_discovery(), std::vector<DiscoveryId>{st});
}

TEST_F(RecordDbTest, IfaceRecordsAndTheirUseByNewNodes) {
  RecordDb db(root_);
  SettingMap base;
  ASSERT_FALSE(base.set("iface.net_ifacename", "veth-lab0"));
  ASSERT_FALSE(base.set("iface.initiatorname", "iqn.2026-11.org.iscsi-lab:iface0"));
  ASSERT_TRUE(db.new_iface("iface0", base).ok());
  EXPECT_EQ(mode_of(root_ / "ifaces/iface0"), 0600u);
  ASSERT_TRUE(db.update_iface("iface0", "iface.ipaddress", "127.0.0.2").ok());
  EXPECT_EQ(db.update_iface("iface0", "node.startup", "manual").error(),
            make_error_code(Errc::wrong_scope));
  EXPECT_EQ(*db.list_ifaces(), std::vector<std::string>{"iface0"});
  EXPECT_THAT(*db.show_iface("iface0"), HasSubstr("iface.iscsi_ifacename = iface0\n"));
  EXPECT_THAT(*db.show_iface("default"), HasSubstr("iface.transport_name = tcp\n"));
  EXPECT_EQ(db.new_iface("default").error(), make_error_code(Errc::invalid_record_id));

  NodeId id = node();
  id.iface = "iface0";
  ASSERT_TRUE(db.new_node(id).ok());
  const auto rec = db.read_node(id);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(*rec->get("iface.net_ifacename"), "veth-lab0");
  EXPECT_EQ(*rec->get("iface.ipaddress"), "127.0.0.2");
  EXPECT_EQ(*rec->get("iface.iscsi_ifacename"), "iface0");

  NodeId unknown_iface = node();
  unknown_iface.iface = "iface9";
  EXPECT_EQ(db.new_node(unknown_iface).error(), make_error_code(Errc::record_not_found));
  ASSERT_TRUE(db.delete_iface("iface0").ok());
  EXPECT_TRUE(db.list_ifaces()->empty());
}

TEST_F(RecordDbTest, MissingRootListsNothing) {
  RecordDb db(root_ / "not-yet");
  EXPECT_TRUE(db.list_nodes()->empty());
  EXPECT_TRUE(db.list_discovery()->empty());
  EXPECT_TRUE(db.list_ifaces()->empty());
}

}  // namespace
}  // namespace iscsi::config
