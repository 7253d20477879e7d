# frozen_string_literal: true

# Tests of the BOSH release under bosh/, the release staging and every PowerShell file.
# Run by tests/deploy/run.sh, which sets:
#   CFWIN_BUILD_DIR  a build directory with the cfwin binary
#   DEPLOY_NODE_DIR  the directory holding node_modules/ with the PowerShell grammar

require "digest"
require "fileutils"
require "json"
require "minitest/autorun"
require "open3"
require "tmpdir"
require "yaml"

require_relative "render"
require_relative "release_layout"
require_relative "lib/oci_layout"
require_relative "lib/ops"

module DeployTest
  REPO = File.expand_path("../..", __dir__)
  RELEASE = File.join(REPO, "bosh")
  MANIFESTS = Dir.glob(File.join(RELEASE, "manifests", "*.yml")).sort
  OPS_FIXTURE = File.join(__dir__, "fixtures", "cf-windows2019-cell.yml")

  def self.cfwin
    build = ENV.fetch("CFWIN_BUILD_DIR") { raise "CFWIN_BUILD_DIR is not set; run tests/deploy/run.sh BUILD_DIR" }
    path = File.join(build, "cfwin")
    raise "#{path} not found; build cfwin first" unless File.executable?(path)

    path
  end

  def self.jobs
    @jobs ||= Dir.glob(File.join(RELEASE, "jobs", "*")).sort.to_h do |dir|
      job = BoshRender::Job.load(dir)
      [job.name, job]
    end
  end

  def self.load_yaml(path)
    YAML.safe_load(File.read(path), aliases: false)
  end

  # Every manifest to render: the examples, and the fixture with each ops file applied.
  def self.deployments
    examples = MANIFESTS.map { |path| [File.basename(path), load_yaml(path)] }
    ops = Dir.glob(File.join(RELEASE, "manifests", "ops", "*.yml")).sort.map do |path|
      manifest = Ops.apply(load_yaml(OPS_FIXTURE), load_yaml(path))
      ["cf-windows2019-cell.yml + #{File.basename(path)}", manifest]
    end
    examples + ops
  end

  # The link data the director would give a consumer: the provider's instance and the
  # properties its spec shares.
  def self.link_data(job, provided, bound)
    {
      "instances" => [{ "name" => "windows2019-cell", "index" => 0, "id" => "3c0e3d7a", "az" => "z1",
                        "address" => "192.0.2.10", "properties" => {}, "bootstrap" => true }],
      "properties" => job.link_properties(provided, bound),
      "address" => "q-s0.windows2019-cell.default.cfwin-test.bosh",
    }
  end

  # Renders every cfwin job of an instance group, with links resolved by type among the
  # group's cfwin jobs, as the director links within one instance group.
  # Returns { job name => { dest => text } } and the undeclared manifest properties.
  def self.render_instance_group(group)
    cfwin_jobs = group.fetch("jobs").select { |entry| entry["release"] == "cfwin" }
    bound = cfwin_jobs.to_h do |entry|
      [entry["name"], jobs.fetch(entry["name"]).bind_properties(entry["properties"] || {})]
    end
    undeclared = []
    rendered = cfwin_jobs.to_h do |entry|
      job = jobs.fetch(entry["name"])
      undeclared += job.undeclared_properties(entry["properties"] || {}).map { |name| "#{job.name}: #{name}" }
      [job.name, job.render(manifest_properties: entry["properties"] || {}, links: links_for(job, cfwin_jobs, bound))]
    end
    [rendered, undeclared]
  end

  def self.links_for(job, cfwin_jobs, bound)
    job.consumes.each_with_object({}) do |consumed, links|
      cfwin_jobs.each do |entry|
        provider = jobs.fetch(entry["name"])
        provided = provider.provides.find { |link| link["type"] == consumed["type"] }
        links[consumed["name"]] = link_data(provider, provided, bound.fetch(provider.name)) if provided
      end
    end
  end

  # PowerShell reads the typographic single quotes as quote characters too.
  QUOTE = "['\u2018\u2019\u201A\u201B]"

  # The values of a rendered `$NAME = @( ... )` array of single-quoted strings, one a line.
  def self.powershell_array(text, name)
    body = text[/^\$#{name} = @\(\n(.*?)^\)$/m, 1]
    raise "no $#{name} array in the rendered script" if body.nil?

    body.lines.map(&:strip).reject(&:empty?).map do |line|
      literal = line[/\A#{QUOTE}((?:(?!#{QUOTE}).|(#{QUOTE})\2)*)#{QUOTE},?\z/, 1]
      raise "not a single-quoted PowerShell string: #{line}" if literal.nil?

      literal.gsub(/(#{QUOTE})\1/, '\1')
    end
  end

  # The long options `cfwin serve --help` documents.
  def self.serve_help_flags
    @serve_help_flags ||= begin
      out, status = Open3.capture2e(cfwin, "serve", "--help")
      raise "cfwin serve --help failed: #{out}" unless status.success?

      out.scan(/^\s+(--[a-z0-9][a-z0-9-]*)/).flatten
    end
  end

  # Options of a `cfwin serve` argument list that --help does not document.
  def self.undocumented_flags(arguments)
    arguments.grep(/\A--/).map { |argument| argument.split("=", 2).first } - serve_help_flags
  end

  def self.run_ps_parser(files)
    modules = ENV.fetch("DEPLOY_NODE_DIR") { raise "DEPLOY_NODE_DIR is not set; run tests/deploy/run.sh" }
    # Without --liftoff-only, node spends about 10 s at exit optimizing the 1 MB grammar.
    Open3.capture2e("node", "--liftoff-only", File.join(__dir__, "ps_parse.mjs"), "--modules", modules, *files)
  end
end

# The renderer itself, on small jobs made here, so a renderer that let mistakes through
# would fail these tests.
class RendererTest < Minitest::Test
  def setup
    @dir = Dir.mktmpdir("render-test")
  end

  def teardown
    FileUtils.rm_rf(@dir)
  end

  def make_job(templates, properties: {}, monit: "", consumes: [])
    job_dir = File.join(@dir, "jobs", "sample")
    FileUtils.mkdir_p(File.join(job_dir, "templates"))
    spec = { "name" => "sample", "templates" => templates.keys.to_h { |src| [src, "out/#{src}"] },
             "packages" => [], "properties" => properties, "consumes" => consumes }
    File.write(File.join(job_dir, "spec"), YAML.dump(spec))
    File.write(File.join(job_dir, "monit"), monit)
    templates.each { |src, text| File.write(File.join(job_dir, "templates", src), text) }
    BoshRender::Job.load(job_dir)
  end

  def test_p_takes_spec_default
    job = make_job({ "a.erb" => "<%= p('x.port') %>" }, properties: { "x.port" => { "default" => 7777 } })
    assert_equal "7777", job.render["out/a.erb"]
  end

  def test_p_takes_manifest_value
    job = make_job({ "a.erb" => "<%= p('x.port') %>" }, properties: { "x.port" => { "default" => 7777 } })
    assert_equal "9241", job.render(manifest_properties: { "x" => { "port" => 9241 } })["out/a.erb"]
  end

  def test_p_inline_default_for_unset
    job = make_job({ "a.erb" => "<%= p('x.unset', 'fallback') %>" }, properties: { "x.unset" => { "description" => "d" } })
    assert_equal "fallback", job.render["out/a.erb"]
  end

  def test_p_first_set_of_names
    job = make_job({ "a.erb" => "<%= p(['x.a', 'x.b']) %>" },
                   properties: { "x.a" => { "description" => "d" }, "x.b" => { "default" => "b" } })
    assert_equal "b", job.render["out/a.erb"]
  end

  def test_p_without_value_rejected
    job = make_job({ "a.erb" => "line one\n<%= p('x.required') %>" }, properties: { "x.required" => { "description" => "d" } })
    error = assert_raises(BoshRender::RenderError) { job.render }
    assert_equal ["Error filling in template 'a.erb' (line 2: Can't find property 'x.required')"], error.messages
  end

  def test_undeclared_property_rejected
    job = make_job({ "a.erb" => "<%= p('x.declared') %> <%= p('x.undeclared') %>" },
                   properties: { "x.declared" => { "default" => 1 } })
    error = assert_raises(BoshRender::RenderError) do
      job.render(manifest_properties: { "x" => { "undeclared" => "set in the manifest" } })
    end
    assert_match(/template 'a.erb' \(line 1: Can't find property 'x.undeclared'\)/, error.message)
  end

  def test_undeclared_manifest_properties_listed
    job = make_job({}, properties: { "x.declared" => { "default" => 1 }, "y" => { "default" => {} } })
    undeclared = job.undeclared_properties({ "x" => { "declared" => 2, "typo" => 3 }, "y" => { "any" => 1 }, "z" => 4 })
    assert_equal %w[x.typo z], undeclared
  end

  def test_non_hash_property_path_rejected
    job = make_job({ "a.erb" => "<%= p('x.port') %>" }, properties: { "x.port" => { "default" => 1 } })
    error = assert_raises(BoshRender::InvalidPropertyType) { job.render(manifest_properties: { "x" => "7777" }) }
    assert_equal "Property 'x.port' expects a hash, but received 'String'", error.message
  end

  def test_if_p_runs_for_false
    template = "<% if_p('x.flag') do |flag| %>flag=<%= flag %><% end.else do %>unset<% end %>"
    job = make_job({ "a.erb" => template }, properties: { "x.flag" => { "default" => false } })
    assert_equal "flag=false", job.render["out/a.erb"]
  end

  def test_link_without_instances_missing
    template = "<% if_link('db') do %>linked<% end.else do %>not linked<% end %>"
    job = make_job({ "a.erb" => template }, consumes: [{ "name" => "db", "type" => "db" }])
    assert_equal "not linked", job.render(links: { "db" => { "properties" => {} } })["out/a.erb"]
  end

  def test_if_p_else_for_unset
    template = "<% if_p('x.a') do |a| %>set <%= a %><% end.else do %>unset<% end %>"
    job = make_job({ "a.erb" => template }, properties: { "x.a" => { "description" => "no default" } })
    assert_equal "unset", job.render["out/a.erb"]
    assert_equal "set 5", job.render(manifest_properties: { "x" => { "a" => 5 } })["out/a.erb"]
  end

  def test_if_p_needs_every_name
    template = "<% if_p('x.a', 'x.b') do |a, b| %><%= a %><%= b %><% end.else do %>partial<% end %>"
    job = make_job({ "a.erb" => template }, properties: { "x.a" => { "default" => 1 }, "x.b" => {} })
    assert_equal "partial", job.render["out/a.erb"]
    assert_equal "12", job.render(manifest_properties: { "x" => { "b" => 2 } })["out/a.erb"]
  end

  def test_else_if_p_chain
    template = "<% if_p('x.a') do %>a<% end.else_if_p('x.b') do |b| %>b=<%= b %><% end.else do %>none<% end %>"
    job = make_job({ "a.erb" => template }, properties: { "x.a" => {}, "x.b" => {} })
    assert_equal "b=2", job.render(manifest_properties: { "x" => { "b" => 2 } })["out/a.erb"]
  end

  def test_spec_fields
    template = "<%= spec.ip %> <%= spec.networks.default.ip %> <%= spec.job.name %> <%= spec.index %> <%= name %>"
    job = make_job({ "a.erb" => template })
    assert_equal "192.0.2.10 192.0.2.10 windows2019-cell 0 windows2019-cell", job.render["out/a.erb"]
  end

  def test_link_and_if_link
    template = "<%= link('db').p('db.port') %> <%= link('db').instances.first.address %> " \
               "<% if_link('cache') do |c| %>cache<% end.else do %>no cache<% end %>"
    job = make_job({ "a.erb" => template }, consumes: [{ "name" => "db", "type" => "db" }])
    links = { "db" => { "properties" => { "db" => { "port" => 5432 } },
                        "instances" => [{ "name" => "db", "index" => 0, "address" => "db.example" }] } }
    assert_equal "5432 db.example no cache", job.render(links: links)["out/a.erb"]
  end

  def test_missing_link_rejected
    job = make_job({ "a.erb" => "<%= link('db').p('db.port') %>" })
    error = assert_raises(BoshRender::RenderError) { job.render }
    assert_match(/Can't find link 'db'/, error.message)
  end

  def test_trim_mode_dash
    job = make_job({ "a.erb" => "a\n<%- if true -%>\nb\n<%- end -%>\nc\n" })
    assert_equal "a\nb\nc\n", job.render["out/a.erb"]
  end

  def test_monit_rendered
    job = make_job({}, properties: { "x.name" => { "default" => "srv" } }, monit: '{"processes":[{"name":"<%= p("x.name") %>"}]}')
    assert_equal '{"processes":[{"name":"srv"}]}', job.render["monit"]
  end

  def test_errors_of_every_template_collected
    job = make_job({ "a.erb" => "<%= p('nope') %>", "b.erb" => "<%= undefined_helper %>" })
    error = assert_raises(BoshRender::RenderError) { job.render }
    assert_equal 2, error.messages.size
    assert_match(/template 'a.erb'/, error.messages[0])
    assert_match(/template 'b.erb'.*undefined_helper/, error.messages[1])
  end
end

# cfwin's jobs rendered with their defaults and with every example manifest.
class JobsTest < Minitest::Test
  def jobs
    DeployTest.jobs
  end

  def test_release_has_expected_jobs
    assert_equal %w[cfwin-garden cfwin-groot cfwin-rootfs cfwin-winc cfwin-winc-network], jobs.keys
  end

  def test_spec_template_files_exist
    jobs.each_value do |job|
      assert File.file?(File.join(job.dir, "monit")), "#{job.name} has no monit file"
      job.templates.each_key do |src|
        assert File.file?(File.join(job.dir, "templates", src)), "#{job.name}: templates/#{src} is missing"
      end
    end
  end

  # Names in p("…") and if_p("…") calls, and in link.p("…") calls, of every template.
  def property_reads(job)
    sources = [File.join(job.dir, "monit")] + job.templates.keys.map { |src| File.join(job.dir, "templates", src) }
    text = sources.map { |path| File.read(path) }.join("\n")
    own = text.scan(/(?<![.\w])(?:p|if_p)\(\s*\[?\s*["']([^"']+)["']/).flatten
    linked = text.scan(/\w\.p\(\s*["']([^"']+)["']/).flatten
    [own.uniq, linked.uniq]
  end

  def test_templates_read_declared_properties
    shared = jobs.values.flat_map { |job| job.provides.flat_map { |link| link["properties"] || [] } }
    jobs.each_value do |job|
      own, linked = property_reads(job)
      assert_empty own - job.declared_properties.keys, "#{job.name} reads properties its spec does not declare"
      assert_empty linked - shared, "#{job.name} reads link properties no job provides"
    end
  end

  def test_property_read_scan_finds_names
    own, linked = property_reads(jobs.fetch("cfwin-rootfs"))
    assert_includes own, "cfwin_rootfs.image_uris"
    assert_equal ["cfwin.depot"], linked
  end

  def test_quotes_in_values_round_trip
    depot = "C:\\it's \u2019cfwin\u2018 depot"
    text = jobs.fetch("cfwin-garden").render(manifest_properties: { "cfwin" => { "depot" => depot } })["bin/start.ps1"]
    arguments = DeployTest.powershell_array(text, "serveArguments")
    assert_equal depot, arguments[arguments.index("--depot") + 1]
    assert_includes text, "'C:\\it''s \u2019\u2019cfwin\u2018\u2018 depot'"
  end

  def test_render_with_defaults
    jobs.each_value do |job|
      rendered = job.render
      assert_equal ["monit"] + job.templates.values, rendered.keys, job.name
    end
  end

  def test_render_example_manifests
    DeployTest.deployments.each do |name, manifest|
      manifest.fetch("instance_groups").each do |group|
        rendered, undeclared = DeployTest.render_instance_group(group)
        assert_empty undeclared, "#{name}: manifest properties no job declares"
        refute_empty rendered, "#{name}: instance group #{group["name"]} has no cfwin job"
      end
    end
  end

  def test_monit_files_are_windows_json
    rendered_monit = jobs.values.map { |job| [job.name, job.render["monit"]] }
    rendered_monit.each do |name, monit|
      next if monit.strip.empty?

      document = JSON.parse(monit)
      processes = document.fetch("processes")
      refute_empty processes, name
      processes.each do |process|
        assert_kind_of String, process["name"], name
        assert_kind_of String, process["executable"], name
        assert(process["args"].all? { |arg| arg.is_a?(String) }, "#{name}: args must be strings")
        assert_kind_of Hash, process.fetch("env", {}), name
      end
    end
    assert(rendered_monit.any? { |_, monit| !monit.strip.empty? }, "no job runs a process")
  end

  def test_garden_monit_runs_start_script
    monit = JSON.parse(jobs.fetch("cfwin-garden").render["monit"])
    script = monit["processes"][0]["args"].last
    assert_equal 'C:\var\vcap\jobs\cfwin-garden\bin\start.ps1', script
    assert_includes jobs.fetch("cfwin-garden").templates.values, "bin/start.ps1"
  end

  def serve_arguments(manifest_properties = {})
    text = jobs.fetch("cfwin-garden").render(manifest_properties: manifest_properties)["bin/start.ps1"]
    DeployTest.powershell_array(text, "serveArguments")
  end

  def example_garden_properties
    manifest = DeployTest.load_yaml(File.join(DeployTest::RELEASE, "manifests", "windows-cell.yml"))
    group = manifest["instance_groups"].first
    group["jobs"].find { |entry| entry["name"] == "cfwin-garden" }["properties"]
  end

  def test_start_script_flags_in_serve_help
    [{}, example_garden_properties].each do |properties|
      arguments = serve_arguments(properties)
      assert_equal "serve", arguments.first
      assert_empty DeployTest.undocumented_flags(arguments), "flags missing from cfwin serve --help"
    end
  end

  def test_flag_check_catches_unknown_flag
    assert_equal ["--no-such-flag"], DeployTest.undocumented_flags(["serve", "--bind-ip", "127.0.0.1", "--no-such-flag"])
  end

  def test_start_script_arguments_accepted_by_cfwin
    [{}, example_garden_properties].each do |properties|
      arguments = serve_arguments(properties)
      # With --help last, cfwin serve parses and checks every option, then prints help.
      out, status = Open3.capture2e(DeployTest.cfwin, *arguments, "--help")
      assert status.success?, "cfwin #{arguments.join(" ")} --help failed: #{out}"
    end
  end

  def test_cfwin_rejects_bad_serve_argument
    out, status = Open3.capture2e(DeployTest.cfwin, "serve", "--max-containers", "many", "--help")
    refute status.success?, "cfwin accepted --max-containers many: #{out}"
  end

  def test_example_properties_reach_command_line
    arguments = serve_arguments(example_garden_properties)
    assert_equal "9241", arguments[arguments.index("--bind-port") + 1]
    assert_equal "rfc3339", arguments[arguments.index("--time-format") + 1]
    assert_equal "172.30.0.1", arguments[arguments.index("--dns-server") + 1]
    assert_equal "oci:///C:/var/vcap/packages/windows2019fs", arguments[arguments.index("--cached-image-uri") + 1]
    assert_equal "192.0.2.10", arguments[arguments.index("--external-ip") + 1]
  end

  def test_garden_rejects_bad_properties
    cases = [
      [{ "garden" => { "listen_address" => "localhost:7777" } }, /garden.listen_address must be IPv4:PORT|must be an IPv4 address/],
      [{ "garden" => { "listen_address" => "127.0.0.1:70000" } }, /port from 1 to 65535/],
      [{ "garden" => { "log_level" => "verbose" } }, /garden.log_level must be/],
      [{ "logging" => { "format" => { "timestamp" => "iso8601" } } }, /logging.format.timestamp must be/],
      [{ "winc_network" => { "subnet_range" => "172.30.0.5/22" } }, /no host bits set/],
      [{ "winc_network" => { "gateway_address" => "172.30.0.9" } }, /gateway_address 172.30.0.9 is not supported/],
      [{ "winc_network" => { "mtu" => 20 } }, /winc_network.mtu must be 0 or from 68/],
      [{ "cfwin" => { "port_pool" => { "start" => 65000, "size" => 1000 } } }, /ends past port 65535/],
      [{ "cfwin" => { "network_name" => "a-name-longer-than-15" } }, /cfwin.network_name must be/],
      [{ "garden" => { "default_container_rootfs" => 'oci:///C:/"quoted"' } }, /contains a double quote/],
    ]
    cases.each do |properties, message|
      error = assert_raises(BoshRender::RenderError, properties.inspect) { serve_arguments(properties) }
      assert_match message, error.message
    end
  end

  def test_gateway_equal_to_first_address_accepted
    arguments = serve_arguments({ "winc_network" => { "gateway_address" => "172.30.0.1" } })
    assert_includes arguments, "--network-pool"
  end

  def test_external_ip_property_overrides_spec_ip
    arguments = serve_arguments({ "cfwin" => { "external_ip" => "198.51.100.7" } })
    assert_equal "198.51.100.7", arguments[arguments.index("--external-ip") + 1]
  end

  def test_interface_json
    config = JSON.parse(jobs.fetch("cfwin-winc-network").render["config/interface.json"])
    documented = %w[network_name subnet_range gateway_address mtu dns_servers search_domains
                    maximum_outgoing_bandwidth allow_outbound_traffic_by_default wait_timeout_in_seconds
                    state_dir port_pool_start port_pool_size]
    assert_empty config.keys - documented, "keys the network role does not read"
    assert_equal "winc-nat", config["network_name"]
    assert_equal "172.30.0.1", config["gateway_address"]
    assert_equal ["172.30.0.1"], config["dns_servers"]
  end

  def test_interface_json_read_by_network_role
    skip "needs root for a private network namespace" unless Process.uid.zero?
    Dir.mktmpdir("interface-json") do |dir|
      properties = { "cfwin_network" => { "state_dir" => File.join(dir, "state") } }
      config = File.join(dir, "interface.json")
      File.write(config, jobs.fetch("cfwin-winc-network").render(manifest_properties: properties)["config/interface.json"])
      # `down` of an unknown handle reads the config and changes nothing; the private
      # network namespace keeps the host's network out of reach all the same.
      out, status = Open3.capture2e("unshare", "--net", DeployTest.cfwin, "network", "--configFile", config,
                                    "--action", "down", "--handle", "deploy-test", stdin_data: "null")
      assert status.success?, "cfwin network rejected the rendered interface.json: #{out}"
      refute_match(/warning/, out, "cfwin network warned about the rendered interface.json")
    end
  end

  def test_installer_serve_flags_in_help
    installer = File.read(File.join(DeployTest::REPO, "release", "install.ps1"))
    function = installer[/^function Get-ServeCommandLine \{\n(.*?)^\}$/m, 1]
    refute_nil function, "Get-ServeCommandLine not found in release/install.ps1"
    flags = function.scan(/"(--[a-z0-9-]+)"/).flatten
    assert_includes flags, "--depot"
    assert_empty DeployTest.undocumented_flags(flags), "installer flags missing from cfwin serve --help"
  end

  def test_interface_json_gateway_outside_subnet_rejected
    job = jobs.fetch("cfwin-winc-network")
    error = assert_raises(BoshRender::RenderError) do
      job.render(manifest_properties: { "winc_network" => { "gateway_address" => "10.9.9.9" } })
    end
    assert_match(/must be an IPv4 address inside 172.30.0.0\/22/, error.message)
  end

  def test_groot_config_read_by_image_role
    Dir.mktmpdir("groot-config") do |dir|
      config = File.join(dir, "groot.yml")
      File.write(config, jobs.fetch("cfwin-groot").render(manifest_properties: { "groot" => { "log_level" => "debug" } })["config/groot.yml"])
      out, status = Open3.capture2e(DeployTest.cfwin, "image", "--driver-store", File.join(dir, "store"), "--config", config, "list")
      assert status.success?, "cfwin image --config #{config} list failed: #{out}"
    end
  end

  def test_plugin_paths_are_package_files
    packaging = File.read(File.join(DeployTest::RELEASE, "packages", "cfwin", "packaging"))
    names = packaging[/foreach \(\$name in @\(([^)]*)\)\)/, 1].scan(/"([^"]+)"/).flatten + ["cfwin.exe"]
    manifest = DeployTest.load_yaml(File.join(DeployTest::RELEASE, "manifests", "guardian-plugins.yml"))
    garden = manifest["instance_groups"][0]["jobs"].find { |entry| entry["name"] == "garden-windows" }
    %w[runtime_plugin image_plugin network_plugin].each do |plugin|
      path = garden["properties"]["garden"][plugin]
      assert path.start_with?("/var/vcap/packages/cfwin/"), "#{plugin} #{path} is not in the cfwin package"
      assert_includes names, File.basename(path), "packaging does not make #{path}"
    end
  end
end

# build.ps1 cannot run here; these checks keep it in step with cmake/windows.
class BuildScriptTest < Minitest::Test
  def build_script
    File.read(File.join(DeployTest::REPO, "build.ps1"))
  end

  def cmake_windows
    File.read(File.join(DeployTest::REPO, "cmake", "windows", "CMakeLists.txt"))
  end

  def test_cache_variables_exist
    variables = build_script.scan(/"-D([A-Z_]+)=/).flatten - ["CMAKE_BUILD_TYPE"]
    assert_includes variables, "CFWIN_WINDOWS_EXE"
    variables.each do |variable|
      assert_match(/\b#{variable}\b/, cmake_windows, "cmake/windows does not define #{variable}")
    end
  end

  def test_check_programs_are_targets
    programs = build_script.scan(/"(cfwin-[a-z]+)\.exe"/).flatten
    refute_empty programs
    programs.each do |program|
      assert_match(/add_executable\(#{program}\b/, cmake_windows, "cmake/windows builds no #{program}")
    end
  end

  def test_plugin_names_match_packaging
    packaging = File.read(File.join(DeployTest::RELEASE, "packages", "cfwin", "packaging"))
    names = ->(text) { text[/\$PluginNames = @\(([^)]*)\)/, 1]&.scan(/"([^"]+)"/)&.flatten }
    installer = File.read(File.join(DeployTest::REPO, "release", "install.ps1"))
    expected = packaging[/foreach \(\$name in @\(([^)]*)\)\)/, 1].scan(/"([^"]+)"/).flatten
    assert_equal %w[winc.exe winc-network.exe groot.exe gdn.exe], expected
    assert_equal expected, names.call(build_script)
    assert_equal expected, names.call(installer)
  end
end

# The rootfs job's import, run on Linux against a small layout in Windows layer format.
class RootfsImportTest < Minitest::Test
  def setup
    @dir = Dir.mktmpdir("rootfs-import")
  end

  def teardown
    FileUtils.rm_rf(@dir)
  end

  def render_rootfs(properties, links = {})
    DeployTest.jobs.fetch("cfwin-rootfs").render(manifest_properties: properties, links: links)["bin/pre-start.ps1"]
  end

  # ChainIDs as the OCI image spec defines them, for the expected layer directories.
  def chain_ids(layout)
    index = JSON.parse(File.read(File.join(layout, "index.json")))
    blob = ->(digest) { File.read(File.join(layout, "blobs", "sha256", digest.delete_prefix("sha256:"))) }
    manifest = JSON.parse(blob.call(index["manifests"][0]["digest"]))
    diff_ids = JSON.parse(blob.call(manifest["config"]["digest"]))["rootfs"]["diff_ids"]
    diff_ids.each_with_object([]) do |diff_id, chain|
      chain << (chain.empty? ? diff_id : "sha256:#{Digest::SHA256.hexdigest("#{chain.last} #{diff_id}")}")
    end
  end

  def test_import_of_windows_layout
    import_and_check(File.join(@dir, "windows2019fs"), nil)
  end

  def test_import_of_tagged_windows_layout
    import_and_check(File.join(@dir, "tagged"), "2019.0.175")
  end

  def import_and_check(layout, tag)
    entries = OciLayout.write_windows(layout, tag: tag)
    depot = File.join(@dir, "depot")
    uri = tag ? "oci://#{layout}:#{tag}" : "oci://#{layout}"
    script = render_rootfs({ "cfwin_rootfs" => { "depot" => depot, "image_uris" => [uri] } })
    image_arguments = DeployTest.powershell_array(script, "imageArguments")
    image_uris = DeployTest.powershell_array(script, "imageUris")
    assert_equal [uri], image_uris
    assert_match(/^  & \$cfwin @imageArguments pull \$uri$/, script)

    image_uris.each do |uri|
      out, status = Open3.capture2e(DeployTest.cfwin, *image_arguments, "pull", uri)
      assert status.success?, "cfwin #{image_arguments.join(" ")} pull #{uri} failed: #{out}"
    end

    chain_ids(layout).zip(entries).each do |chain_id, names|
      layer = File.join(depot, "layers", chain_id.delete_prefix("sha256:"))
      names.each do |name|
        assert File.exist?(File.join(layer, name)), "#{name} missing from layer #{chain_id}"
      end
    end
    assert_equal "hello from the top layer\r\n",
                 File.read(File.join(depot, "layers", chain_ids(layout).last.delete_prefix("sha256:"), "Files/Users/vcap/hello.txt"))
  end

  def test_import_of_missing_layout_fails
    depot = File.join(@dir, "depot")
    script = render_rootfs({ "cfwin_rootfs" => { "depot" => depot, "image_uris" => ["oci://#{@dir}/absent"] } })
    out, status = Open3.capture2e(DeployTest.cfwin, *DeployTest.powershell_array(script, "imageArguments"), "pull", "oci://#{@dir}/absent")
    refute status.success?, "pull of a missing layout succeeded: #{out}"
  end

  def test_linked_depot_used
    links = { "cfwin" => { "properties" => { "cfwin" => { "depot" => 'D:\cfwin-depot' } }, "instances" => [] } }
    arguments = DeployTest.powershell_array(render_rootfs({}, links), "imageArguments")
    assert_equal ["image", "--driver-store", 'D:\cfwin-depot', "--log-level", "info"], arguments
  end

  def test_default_imports_windows2019fs_package
    script = render_rootfs({})
    assert_equal ["oci:///C:/var/vcap/packages/windows2019fs"], DeployTest.powershell_array(script, "imageUris")
    assert_match(/EventWaitHandle\(\$false, .*"RootfsEvent"\)/, script)
  end

  def test_bad_image_uri_rejected
    error = assert_raises(BoshRender::RenderError) { render_rootfs({ "cfwin_rootfs" => { "image_uris" => ["C:\\rootfs"] } }) }
    assert_match(/must be an oci:\/\/ or docker:\/\/ URI/, error.message)
  end
end

# Every PowerShell file of the repository and every rendered PowerShell template.
class PowerShellTest < Minitest::Test
  def powershell_files(dir)
    files = Dir.glob(File.join(DeployTest::REPO, "{*.ps1,bosh/**/*.ps1,release/**/*.ps1}"))
    files += Dir.glob(File.join(DeployTest::RELEASE, "packages", "*", "packaging"))
    renders = DeployTest.jobs.values.map { |job| [job.name, job.render] }
    DeployTest.deployments.each do |_, manifest|
      manifest["instance_groups"].each { |group| renders += DeployTest.render_instance_group(group)[0].to_a }
    end
    renders.each_with_index do |(job_name, rendered), index|
      rendered.each do |dest, text|
        next unless dest.end_with?(".ps1")

        path = File.join(dir, "#{index}-#{job_name}-#{File.basename(dest)}")
        File.write(path, text)
        files << path
      end
    end
    files
  end

  def test_every_powershell_file_parses
    Dir.mktmpdir("ps-rendered") do |dir|
      files = powershell_files(dir)
      assert(files.any? { |file| file.end_with?("install.ps1") }, "release/install.ps1 not found")
      assert(files.any? { |file| file.end_with?("build.ps1") }, "build.ps1 not found")
      assert(files.count { |file| file.start_with?(dir) } >= 6, "too few rendered scripts")
      out, status = DeployTest.run_ps_parser(files)
      assert status.success?, out
    end
  end

  def test_parser_rejects_syntax_errors
    Dir.mktmpdir("ps-bad") do |dir|
      cases = {
        "unclosed-block.ps1" => "if ($a -eq 1) {\n  Write-Output 'x'\n",
        "unclosed-string.ps1" => "Write-Output \"never closed\n",
        "bad-array.ps1" => "$values = @(\n  'a',\n",
        "variable-colon.ps1" => "Write-Output \"exit status $code: failed\"\n",
      }
      cases.each do |name, text|
        path = File.join(dir, name)
        File.write(path, text)
        out, status = DeployTest.run_ps_parser([path])
        refute status.success?, "#{name} parsed without errors: #{out}"
        assert_match(/#{Regexp.escape(name)}:\d+:\d+ (ERROR|MISSING|VARIABLE)/, out)
      end
    end
  end
end

# The release layout check and the staging script.
class ReleaseLayoutTest < Minitest::Test
  def setup
    @dir = Dir.mktmpdir("release-layout")
    @release = File.join(@dir, "bosh")
    FileUtils.cp_r(DeployTest::RELEASE, @release)
    FileUtils.rm_rf(File.join(@release, "blobs"))
    File.write(File.join(@release, "config", "blobs.yml"), "--- {}\n")
    version = File.read(File.join(DeployTest::REPO, "CMakeLists.txt"))[/project\(cfwin VERSION ([0-9.]+)/, 1]
    @exe = File.join(@dir, "cfwin.exe")
    File.binwrite(@exe, "MZ" + ("\0" * 64) + "cfwin #{version}\0")
  end

  def teardown
    FileUtils.rm_rf(@dir)
  end

  def stage(*extra)
    Open3.capture2e(File.join(DeployTest::REPO, "release", "stage.sh"), "--exe", @exe, "--release-dir", @release,
                    "--dist", File.join(@dir, "dist"), *extra)
  end

  def test_unstaged_release_misses_binary
    problems = ReleaseLayout.check(@release)
    assert_includes problems, "Missing files for pattern 'cfwin/cfwin.exe' of package cfwin"
  end

  def test_staged_release_valid
    out, status = stage
    assert status.success?, out
    assert_empty ReleaseLayout.check(@release)
    blobs = YAML.safe_load(File.read(File.join(@release, "config", "blobs.yml")))
    assert_equal File.size(@exe), blobs["cfwin/cfwin.exe"]["size"]
    assert_equal "sha256:#{Digest::SHA256.file(@exe).hexdigest}", blobs["cfwin/cfwin.exe"]["sha"]
    checksum = File.read(File.join(@release, "blobs", "cfwin", "cfwin.exe.sha256"))
    assert_equal "#{Digest::SHA256.file(@exe).hexdigest}  cfwin.exe\n", checksum
    sums = File.read(File.join(@dir, "dist", "SHA256SUMS"))
    assert_match(/\A#{Digest::SHA256.file(@exe).hexdigest}  cfwin-[0-9.]+-windows-amd64\.exe\n\z/, sums)
  end

  def test_stage_with_linux_binary
    out, status = stage("--linux", DeployTest.cfwin)
    assert status.success?, out
    assert_equal 2, File.read(File.join(@dir, "dist", "SHA256SUMS")).lines.size
  end

  def test_stage_relative_to_caller
    out, status = Open3.capture2e(File.join(DeployTest::REPO, "release", "stage.sh"), "--exe", "cfwin.exe",
                                  "--release-dir", "bosh", "--dist", "dist", "--version", "0.1.0+build.5", chdir: @dir)
    assert status.success?, out
    assert File.file?(File.join(@release, "blobs", "cfwin", "cfwin.exe")), "blob not staged under the caller's bosh/"
    assert File.file?(File.join(@dir, "dist", "cfwin-0.1.0+build.5-windows-amd64.exe")), out
  end

  # Staging into the repository's own bosh/ rewrites the tracked
  # config/blobs.yml; a clean checkout must still be stamped with its plain
  # commit, not "-dirty". The script runs from a copy in a repository of the
  # test's own, since it stamps the commit of the repository it lives in.
  def test_stage_of_clean_checkout_not_dirty
    FileUtils.mkdir_p(File.join(@dir, "release"))
    FileUtils.cp(File.join(DeployTest::REPO, "release", "stage.sh"), File.join(@dir, "release"))
    FileUtils.cp(File.join(DeployTest::REPO, "CMakeLists.txt"), @dir)
    File.write(File.join(@dir, ".gitignore"), "/cfwin.exe\n/build/\n/bosh/blobs/\n")
    git = ->(*args) { Open3.capture2e("git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args, chdir: @dir) }
    git.call("init", "-q")
    git.call("add", ".")
    _, status = git.call("commit", "-q", "-m", "release")
    assert status.success?, "git commit in the test's own repository failed"
    out, status = Open3.capture2e(File.join(@dir, "release", "stage.sh"), "--exe", "cfwin.exe", chdir: @dir)
    assert status.success?, out
    head, = git.call("rev-parse", "--short=12", "HEAD")
    assert_equal "commit #{head.strip}", File.read(File.join(@dir, "build", "dist", "VERSION")).lines[1].strip
  end

  def test_stage_rejects_other_version
    out, status = stage("--version", "9.8.7")
    refute status.success?
    assert_match(/does not contain version 9\.8\.7/, out)
  end

  def test_stage_rejects_non_windows_file
    File.binwrite(@exe, "\x7fELF")
    out, status = stage
    refute status.success?
    assert_match(/not a Windows executable/, out)
  end

  def test_blob_changed_after_staging_detected
    _, status = stage
    assert status.success?
    File.binwrite(File.join(@release, "blobs", "cfwin", "cfwin.exe"), "MZ changed")
    problems = ReleaseLayout.check(@release)
    assert(problems.any? { |problem| problem.include?("cfwin/cfwin.exe size") }, problems.inspect)
    assert(problems.any? { |problem| problem.include?("cfwin/cfwin.exe sha") }, problems.inspect)
  end

  def break_release
    _, status = stage
    assert status.success?
    yield
    ReleaseLayout.check(@release)
  end

  def test_layout_rejects_broken_releases
    cases = {
      "Job directory 'cfwin-rootfs' does not match job name" => lambda {
        spec = File.join(@release, "jobs", "cfwin-rootfs", "spec")
        File.write(spec, File.read(spec).sub("name: cfwin-rootfs", "name: rootfs"))
      },
      "template start.ps1.erb is missing" => -> { File.delete(File.join(@release, "jobs", "cfwin-garden", "templates", "start.ps1.erb")) },
      "job cfwin-winc has no monit file" => -> { File.delete(File.join(@release, "jobs", "cfwin-winc", "monit")) },
      "Expected to find" => -> { File.delete(File.join(@release, "packages", "cfwin", "packaging")) },
      "blobs.yml is missing" => -> { File.delete(File.join(@release, "config", "blobs.yml")) },
      "sets both name and final_name" => -> { File.write(File.join(@release, "config", "final.yml"), "name: a\nfinal_name: b\n") },
      "uses package golang-1-windows" => lambda {
        spec = File.join(@release, "jobs", "cfwin-winc", "spec")
        File.write(spec, File.read(spec).sub("- cfwin", "- cfwin\n- golang-1-windows"))
      },
      "lists packaging in files" => lambda {
        spec = File.join(@release, "packages", "cfwin", "spec")
        File.write(spec, File.read(spec) + "- packaging\n")
      },
    }
    cases.each do |expected, breaker|
      setup_fresh_copy
      problems = break_release(&breaker)
      assert(problems.any? { |problem| problem.include?(expected) }, "#{expected}: #{problems.inspect}")
    end
  end

  def setup_fresh_copy
    FileUtils.rm_rf(@release)
    FileUtils.cp_r(DeployTest::RELEASE, @release)
    FileUtils.rm_rf(File.join(@release, "blobs"))
    File.write(File.join(@release, "config", "blobs.yml"), "--- {}\n")
  end
end
