# frozen_string_literal: true

# Renders BOSH job templates the way the BOSH director does, so the tests can check
# cfwin's jobs without a director. The rules follow the director's template evaluation
# context (Bosh::Common::Template::EvaluationContext in cloudfoundry/bosh):
#
# - ERB with trim mode "-"; the monit file is rendered as a template too.
# - A job gets only the properties its spec declares. Each takes the manifest's value or,
#   when that is nil, the spec's default. Manifest properties the spec does not declare
#   are dropped by the director; here they can be listed with undeclared_properties.
# - p(name), p(name, default), p([names...]) and p([names...], default); an unset
#   property without a default raises UnknownProperty.
# - if_p(names...) { |values...| } runs its block only when every property is set and
#   returns an object with else, else_if_p and else_if_link.
# - link(name) and if_link(name) give links with p, if_p, instances and address.
# - spec is an OpenStruct of the instance's template spec, nested hashes included.
#
# Usage as a program: ruby render.rb JOB_DIR [MANIFEST_PROPERTIES.yml]
# prints every rendered file of the job.

require "erb"
require "json"
require "ostruct"
require "yaml"

module BoshRender
  # A p() or if_p() lookup of a property that is unset and has no default.
  class UnknownProperty < StandardError
    def initialize(names)
      super("Can't find property '#{names.join("', or '")}'")
    end
  end

  # A link() of a link the job does not consume or that nothing provides.
  class UnknownLink < StandardError
    def initialize(name)
      super("Can't find link '#{name}'")
    end
  end

  # A manifest value that is not a hash where a declared property name needs one.
  class InvalidPropertyType < StandardError; end

  # Every template error of one job, each as "Error filling in template 'SRC' (line N: MSG)".
  class RenderError < StandardError
    attr_reader :messages

    def initialize(job_name, messages)
      @messages = messages
      super("Unable to render templates for job '#{job_name}':\n" + messages.map { |m| "- #{m}" }.join("\n"))
    end
  end

  # Looks up a dotted property name in nested hashes; nil when any part is missing.
  def self.lookup(properties, name)
    name.to_s.split(".").reduce(properties) do |node, key|
      return nil unless node.is_a?(Hash) && node.key?(key)

      node[key]
    end
  end

  def self.store(properties, name, value)
    keys = name.split(".")
    node = keys[0..-2].reduce(properties) { |parent, key| parent[key] ||= {} }
    node[keys.last] = value
  end

  def self.deep_copy(value)
    Marshal.load(Marshal.dump(value))
  end

  def self.to_openstruct(value)
    case value
    when Hash then OpenStruct.new(value.transform_values { |v| to_openstruct(v) })
    when Array then value.map { |v| to_openstruct(v) }
    else value
    end
  end

  # Returned by if_p or if_link when the block did not run, so else runs (BOSH's name).
  class ActiveElseBlock
    def initialize(context)
      @context = context
    end

    def else
      yield
      nil
    end

    def else_if_p(*names, &block)
      @context.if_p(*names, &block)
    end

    def else_if_link(name, &block)
      @context.if_link(name, &block)
    end
  end

  # Returned by if_p or if_link when the block ran, so else does nothing (BOSH's name).
  class InactiveElseBlock
    def else
      nil
    end

    def else_if_p(*_names)
      self
    end

    def else_if_link(_name)
      self
    end
  end

  # Property lookups shared by the job context and links.
  module PropertyLookup
    def p(*args)
      names = Array(args[0])
      names.each do |name|
        value = BoshRender.lookup(lookup_properties, name)
        return value unless value.nil?
      end
      return args[1] if args.length == 2

      raise UnknownProperty, names
    end

    def if_p(*names)
      values = names.map do |name|
        value = BoshRender.lookup(lookup_properties, name)
        return ActiveElseBlock.new(self) if value.nil?

        value
      end
      yield(*values)
      InactiveElseBlock.new
    end
  end

  # One instance of a link's provider.
  LinkInstance = Struct.new(:name, :index, :id, :az, :address, :properties, :bootstrap, keyword_init: true)

  # A consumed link: the provider's instances and the properties its spec shares.
  class EvaluationLink
    include PropertyLookup

    attr_reader :instances, :properties

    def initialize(data)
      @properties = data.fetch("properties", {})
      @instances = data.fetch("instances", []).map do |instance|
        LinkInstance.new(**instance.transform_keys(&:to_sym))
      end
      @address = data["address"]
    end

    def address(_criteria = {})
      @address
    end

    private

    def lookup_properties
      @properties
    end
  end

  # The binding templates are evaluated in.
  class EvaluationContext
    include PropertyLookup

    attr_reader :name, :index, :spec, :raw_properties, :properties

    def initialize(template_spec)
      @raw_properties = template_spec.fetch("properties", {})
      @name = template_spec["name"]
      @index = template_spec["index"]
      @links = template_spec.fetch("links", {})
      @spec = BoshRender.to_openstruct(template_spec)
      @properties = BoshRender.to_openstruct(@raw_properties)
    end

    # A link counts only when its data has instances, as in BOSH.
    def link(name)
      data = @links[name]
      raise UnknownLink, name unless data.is_a?(Hash) && data.key?("instances")

      EvaluationLink.new(data)
    end

    def if_link(name)
      data = @links[name]
      return ActiveElseBlock.new(self) unless data.is_a?(Hash) && data.key?("instances")

      yield EvaluationLink.new(data)
      InactiveElseBlock.new
    end

    def get_binding
      binding
    end

    private

    def lookup_properties
      @raw_properties
    end
  end

  # A job directory of a release: spec, monit and templates/.
  class Job
    attr_reader :dir, :spec

    def self.load(dir)
      spec = YAML.safe_load(File.read(File.join(dir, "spec")), aliases: false)
      raise ArgumentError, "#{dir}/spec is not a YAML mapping" unless spec.is_a?(Hash)

      new(dir, spec)
    end

    def initialize(dir, spec)
      @dir = dir
      @spec = spec
    end

    def name
      @spec["name"]
    end

    def templates
      @spec["templates"] || {}
    end

    def declared_properties
      @spec["properties"] || {}
    end

    def provides
      @spec["provides"] || []
    end

    def consumes
      @spec["consumes"] || []
    end

    # The director's binding: manifest value, else the spec default, for declared names only.
    # A manifest value that is not a hash where a declared name needs one is an error.
    def bind_properties(manifest_properties)
      declared_properties.each_with_object({}) do |(name, definition), bound|
        check_property_path(manifest_properties || {}, name)
        value = BoshRender.lookup(manifest_properties || {}, name)
        value = BoshRender.deep_copy((definition || {})["default"]) if value.nil?
        BoshRender.store(bound, name, value)
      end
    end

    # Dotted names of manifest properties this job's spec does not declare.
    def undeclared_properties(manifest_properties, prefix = nil)
      return [] unless manifest_properties.is_a?(Hash)

      manifest_properties.flat_map do |key, value|
        path = prefix ? "#{prefix}.#{key}" : key.to_s
        if declared_properties.key?(path)
          []
        elsif value.is_a?(Hash) && declared_properties.keys.any? { |name| name.start_with?("#{path}.") }
          undeclared_properties(value, path)
        else
          [path]
        end
      end
    end

    # The properties a provided link shares, taken from this job's bound properties.
    def link_properties(provided, bound)
      (provided["properties"] || []).each_with_object({}) do |name, shared|
        BoshRender.store(shared, name, BoshRender.lookup(bound, name))
      end
    end

    # Renders the monit file and every template. Returns { "monit" => text, dest => text }.
    def render(manifest_properties: {}, links: {}, instance: {})
      template_spec = default_template_spec.merge(BoshRender.deep_copy(instance))
      template_spec["properties"] = bind_properties(manifest_properties)
      template_spec["links"] = links
      errors = []
      rendered = {}
      sources = { "monit" => ["monit", File.join(@dir, "monit")] }
      templates.each { |src, dest| sources[dest] = [src, File.join(@dir, "templates", src)] }
      sources.each do |dest, (src, path)|
        rendered[dest] = render_file(src, path, template_spec)
      rescue StandardError, ScriptError => e
        errors << "Error filling in template '#{src}' (#{error_line(e, src)}#{e.message})"
      end
      raise RenderError.new(name, errors) unless errors.empty?

      rendered
    end

    private

    def check_property_path(properties, name)
      node = properties
      name.split(".").each do |key|
        raise InvalidPropertyType, "Property '#{name}' expects a hash, but received '#{node.class}'" unless node.is_a?(Hash)

        node = node[key]
        break if node.nil?
      end
    end

    def render_file(src, path, template_spec)
      erb = ERB.new(File.read(path), trim_mode: "-")
      erb.filename = src
      erb.result(EvaluationContext.new(template_spec).get_binding)
    end

    def error_line(error, src)
      frame = (error.backtrace || []).find { |line| line.start_with?("#{src}:") }
      frame ? "line #{frame.split(":")[1]}: " : ""
    end

    def default_template_spec
      {
        "deployment" => "cfwin-test",
        "job" => { "name" => "windows2019-cell" },
        "name" => "windows2019-cell",
        "index" => 0,
        "bootstrap" => true,
        "id" => "3c0e3d7a-6d5f-4a47-9c43-2f1d2f2b6a11",
        "az" => "z1",
        # 192.0.2.0/24 is TEST-NET-1 (RFC 5737): a documentation address nothing sends to.
        "networks" => {
          "default" => {
            "ip" => "192.0.2.10", "netmask" => "255.255.255.0", "gateway" => "192.0.2.1",
            "default" => %w[dns gateway], "dns_record_name" => "0.windows2019-cell.default.cfwin-test.bosh"
          },
        },
        "address" => "192.0.2.10",
        "ip" => "192.0.2.10",
        "dns_domain_name" => "bosh",
        "persistent_disk" => 0,
        "properties_need_filtering" => true,
        "release" => { "name" => "cfwin", "version" => "0+dev.1" },
      }
    end
  end
end

if $PROGRAM_NAME == __FILE__
  if ARGV.empty? || ARGV.length > 2
    warn "usage: ruby render.rb JOB_DIR [MANIFEST_PROPERTIES.yml]"
    exit 2
  end
  job = BoshRender::Job.load(ARGV[0])
  properties = ARGV[1] ? YAML.safe_load(File.read(ARGV[1]), aliases: false) : {}
  begin
    job.render(manifest_properties: properties).each do |dest, text|
      puts "==> #{dest}"
      puts text
    end
  rescue BoshRender::RenderError => e
    warn e.message
    exit 1
  end
end
